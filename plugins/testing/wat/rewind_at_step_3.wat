;; A processor written by hand against docs/wasm-abi.md (interface 1.1),
;; without the Rust SDK, that uses the rewind import: at step 3 it asks the
;; host to take the last token back (rewind to `tokens_len - 1`) and to ban
;; that token when the position is chosen again. It has no
;; `logitloom_rollback` export, so the host rolls it back by re-creating it
;; and replaying `logitloom_accept`.
;;
;; Memory map: describe JSON at 1024, error text at 3072, the one-token ban
;; list at 5120, a bump allocator for the host's buffers from 8192 up.
(module
  (import "logitloom" "rewind" (func $rewind (param i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))

  (data (i32.const 1024) "[{\"name\":\"rewind_at_step_3\",\"kind\":\"processor\",\"description\":\"at step 3, asks to take the last token back and ban it\",\"params\":[],\"may_rewind\":true}]")
  (data (i32.const 3072) "rewind_at_step_3 has no sampler")

  ;; Interface 1.1 = 1 << 16 | 1.
  (func (export "logitloom_interface_version") (result i32) (i32.const 65537))

  ;; (pointer << 32) | length of the describe JSON (149 bytes).
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 149)))

  (func (export "logitloom_last_error") (result i64)
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 31)))

  ;; Bump allocator: round up to `align`, grow memory when the end passes it.
  (func (export "logitloom_alloc") (param $size i32) (param $align i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.div_u
                  (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535))
                  (i32.const 65536)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  (func (export "logitloom_create")
    (param $index i32) (param $params i32) (param $params_len i32)
    (param $vocab i32) (param $eos i32) (param $seed i64)
    (param $tb_data i32) (param $tb_data_len i32) (param $tb_offsets i32) (param $tb_offsets_len i32)
    (result i32)
    (i32.const 0))

  (func (export "logitloom_process")
    (param $logits i32) (param $vocab i32) (param $tokens i32) (param $tokens_len i32)
    (param $prompt_len i32) (param $step i32) (param $raw i32)
    (result i32)
    (if (i32.eq (local.get $step) (i32.const 3))
      (then
        ;; ban = tokens[tokens_len - 1]
        (i32.store (i32.const 5120)
          (i32.load (i32.add (local.get $tokens)
            (i32.shl (i32.sub (local.get $tokens_len) (i32.const 1)) (i32.const 2)))))
        (call $rewind (i32.sub (local.get $tokens_len) (i32.const 1)) (i32.const 5120) (i32.const 1))))
    (i32.const 0))

  (func (export "logitloom_accept")
    (param $tokens i32) (param $tokens_len i32) (param $prompt_len i32) (param $step i32)
    (param $vocab i32) (param $token i32)
    (result i32)
    (i32.const 0))
)
