;; Throws the exception $e (42) in one function and catches it in another; exits with its
;; payload: 42. Needs the exception-handling proposal.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func $catcher (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $thrower (i32.const 42)))
      (i32.const 0)))
  (func (export "_start") (call $exit (call $catcher))))
