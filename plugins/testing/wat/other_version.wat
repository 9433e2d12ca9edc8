;; Declares interface 2.0, which this host does not know. Everything else is
;; irrelevant: the host must refuse the module after reading the version,
;; naming 2.0 and its own version.
(module
  (memory (export "memory") 1)
  (func (export "logitloom_interface_version") (result i32) (i32.const 131072)))
