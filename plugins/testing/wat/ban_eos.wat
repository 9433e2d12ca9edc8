;; A complete logitloom processor written by hand against docs/wasm-abi.md,
;; without the Rust SDK: it bans the end-of-sequence token (sets its logit to
;; -inf) at every step and reports that as an observation.
;;
;; Memory map: describe JSON at 1024, observation JSON at 2048, error text at
;; 3072, a bump allocator for the host's buffers from 4096 up.
(module
  (import "logitloom" "observe" (func $observe (param i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (global $eos (mut i32) (i32.const 0))

  (data (i32.const 1024) "[{\"name\":\"ban_eos\",\"kind\":\"processor\",\"description\":\"sets the end-of-sequence logit to -inf\",\"params\":[]}]")
  (data (i32.const 2048) "{\"banned\":\"eos\"}")
  (data (i32.const 3072) "ban_eos has no sampler")

  ;; Interface 1.0 = 1 << 16 | 0.
  (func (export "logitloom_interface_version") (result i32) (i32.const 65536))

  ;; (pointer << 32) | length of the describe JSON (106 bytes).
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 106)))

  (func (export "logitloom_last_error") (result i64)
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 22)))

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

  ;; Only one processor and no parameters: remember the EOS id.
  (func (export "logitloom_create")
    (param $index i32) (param $params i32) (param $params_len i32)
    (param $vocab i32) (param $eos i32) (param $seed i64)
    (param $tb_data i32) (param $tb_data_len i32) (param $tb_offsets i32) (param $tb_offsets_len i32)
    (result i32)
    (global.set $eos (local.get $eos))
    (i32.const 0))

  (func (export "logitloom_process")
    (param $logits i32) (param $vocab i32) (param $tokens i32) (param $tokens_len i32)
    (param $prompt_len i32) (param $step i32) (param $raw i32)
    (result i32)
    (if (i32.lt_u (global.get $eos) (local.get $vocab))
      (then
        (f32.store
          (i32.add (local.get $logits) (i32.shl (global.get $eos) (i32.const 2)))
          (f32.const -inf))))
    (call $observe (i32.const 2048) (i32.const 16))
    (i32.const 0))

  (func (export "logitloom_accept")
    (param $tokens i32) (param $tokens_len i32) (param $prompt_len i32) (param $step i32)
    (param $vocab i32) (param $token i32)
    (result i32)
    (i32.const 0))
)
