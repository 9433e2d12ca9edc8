;; Hostile processors for the bad-plugin suite (plugin-host/tests/hostile_plugins.rs):
;; each abuses one host import or returned string of docs/wasm-abi.md, in ways
;; a host without limits would copy into its own memory. Processor `index`
;; (the describe order) picks the behaviour; none takes parameters.
;;
;; Memory map: describe JSON at 1024, small records at 8192, error text and big
;; records at 1 MiB, a bump allocator for the host's buffers from 128 KiB up
;; (below 1 MiB: the host's buffers are a few KiB at the test vocabulary).
;; 1100 pages (68.75 MiB) so the 32 MiB record and the 64 MiB error are
;; inside the module's memory: the host must refuse them by size, not
;; because they are out of bounds. Untouched pages cost no resident memory.
(module
  (import "logitloom" "observe" (func $observe (param i32 i32)))
  (memory (export "memory") 1100)
  (global $heap (mut i32) (i32.const 131072))
  (global $mode (mut i32) (i32.const 0))

  (data (i32.const 1024) "[{\"name\":\"observe_flood\",\"kind\":\"processor\",\"description\":\"records a tiny observation 100000 times per call\",\"params\":[]},{\"name\":\"observe_huge\",\"kind\":\"processor\",\"description\":\"records one 32 MiB observation per call\",\"params\":[]},{\"name\":\"observe_not_json\",\"kind\":\"processor\",\"description\":\"records text that is not JSON\",\"params\":[]},{\"name\":\"observe_bad_utf8\",\"kind\":\"processor\",\"description\":\"records bytes that are not UTF-8\",\"params\":[]},{\"name\":\"observe_byte_flood\",\"kind\":\"processor\",\"description\":\"records 60000-byte observations until told to stop\",\"params\":[]},{\"name\":\"huge_error\",\"kind\":\"processor\",\"description\":\"fails every call with a 64 MiB error message\",\"params\":[]},{\"name\":\"error_outside\",\"kind\":\"processor\",\"description\":\"fails every call with an error message outside its memory\",\"params\":[]}]")
  (data (i32.const 8192) "{\"n\":1}")
  (data (i32.const 8208) "not json {")
  (data (i32.const 8224) "\ff\fe{}")

  (func (export "logitloom_interface_version") (result i32) (i32.const 65537))

  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 818)))

  (func (export "logitloom_last_error") (result i64)
    (if (i32.eq (global.get $mode) (i32.const 6))
      (then (return (i64.or (i64.shl (i64.const 0xffff0000) (i64.const 32)) (i64.const 100)))))
    ;; 64 MiB at 1 MiB.
    (i64.or (i64.shl (i64.const 1048576) (i64.const 32)) (i64.const 67108864)))

  (func (export "logitloom_alloc") (param $size i32) (param $align i32) (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
    (if (i32.gt_u (i32.add (local.get $ptr) (local.get $size)) (i32.const 1048576))
      (then (return (i32.const 0))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $size)))
    (local.get $ptr))

  (func (export "logitloom_create")
    (param $index i32) (param $params i32) (param $params_len i32)
    (param $vocab i32) (param $eos i32) (param $seed i64)
    (param $tb_data i32) (param $tb_data_len i32) (param $tb_offsets i32) (param $tb_offsets_len i32)
    (result i32)
    (global.set $mode (local.get $index))
    (i32.const 0))

  (func (export "logitloom_process")
    (param $logits i32) (param $vocab i32) (param $tokens i32) (param $tokens_len i32)
    (param $prompt_len i32) (param $step i32) (param $raw i32)
    (result i32)
    (local $i i32)
    ;; 0: observe_flood
    (if (i32.eq (global.get $mode) (i32.const 0))
      (then
        (loop $again
          (call $observe (i32.const 8192) (i32.const 7))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 100000))))))
    ;; 1: observe_huge, 32 MiB at 1 MiB
    (if (i32.eq (global.get $mode) (i32.const 1))
      (then (call $observe (i32.const 1048576) (i32.const 33554432))))
    ;; 2: observe_not_json
    (if (i32.eq (global.get $mode) (i32.const 2))
      (then (call $observe (i32.const 8208) (i32.const 10))))
    ;; 3: observe_bad_utf8
    (if (i32.eq (global.get $mode) (i32.const 3))
      (then (call $observe (i32.const 8224) (i32.const 4))))
    ;; 4: observe_byte_flood: 59999 spaces then `0` (valid JSON), 1000 times
    (if (i32.eq (global.get $mode) (i32.const 4))
      (then
        (memory.fill (i32.const 1048576) (i32.const 32) (i32.const 59999))
        (i32.store8 (i32.const 1108575) (i32.const 48))
        (loop $again
          (call $observe (i32.const 1048576) (i32.const 60000))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))))
    ;; 5, 6: fail; the message is the problem
    (if (i32.ge_u (global.get $mode) (i32.const 5))
      (then (return (i32.const 1))))
    (i32.const 0))

  (func (export "logitloom_accept")
    (param $tokens i32) (param $tokens_len i32) (param $prompt_len i32) (param $step i32)
    (param $vocab i32) (param $token i32)
    (result i32)
    (i32.const 0))
)
