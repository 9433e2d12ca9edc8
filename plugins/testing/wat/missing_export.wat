;; Describes a processor stage but does not export `logitloom_process`, so
;; the host must refuse it at load, naming the missing export.
(module
  (memory (export "memory") 1)
  (data (i32.const 1024) "[{\"name\":\"incomplete\",\"kind\":\"processor\",\"description\":\"lacks process\",\"params\":[]}]")
  (func (export "logitloom_interface_version") (result i32) (i32.const 65536))
  (func (export "logitloom_describe") (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 84)))
  (func (export "logitloom_last_error") (result i64) (i64.const 0))
  (func (export "logitloom_alloc") (param i32 i32) (result i32) (i32.const 8192))
  (func (export "logitloom_create")
    (param i32 i32 i32 i32 i32 i64 i32 i32 i32 i32) (result i32) (i32.const 0))
  (func (export "logitloom_accept") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 0)))
