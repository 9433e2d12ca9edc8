;; A processor whose `process` executes `unreachable` at every step: the
;; host must turn the trap into an error naming the stage and the step.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 1024) "[{\"name\":\"trap\",\"kind\":\"processor\",\"description\":\"traps\",\"params\":[]}]")
  (func (export "logitloom_interface_version") (result i32) (i32.const 65536))
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 70)))
  (func (export "logitloom_last_error") (result i64) (i64.const 0))
  ;; Enough for a small test vocabulary: the host allocates once.
  (func (export "logitloom_alloc") (param $size i32) (param $align i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (local.get $ptr))
  (func (export "logitloom_create")
    (param i32 i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "logitloom_process") (param i32 i32 i32 i32 i32 i32 i32) (result i32) (unreachable))
  (func (export "logitloom_accept") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0)))
