;; A module whose `logitloom_describe` returns 100 MiB (within its memory):
;; the host must refuse it by size instead of copying and parsing it
;; (plugin-host/tests/hostile_plugins.rs). 1700 pages = 106.25 MiB; untouched
;; pages cost no resident memory.
(module
  (memory (export "memory") 1700)
  (func (export "logitloom_interface_version") (result i32) (i32.const 65537))
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const 104857600)))
  (func (export "logitloom_last_error") (result i64) (i64.const 0))
  (func (export "logitloom_alloc") (param i32 i32) (result i32) (i32.const 0))
  (func (export "logitloom_create") (param i32 i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 1))
  (func (export "logitloom_process") (param i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 1))
  (func (export "logitloom_accept") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 1))
)
