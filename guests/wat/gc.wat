;; A GC struct (20, 3) and array (4 x 7): exits 20 + 3 + 7 + 4 = 34. Needs the GC proposal.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (type $point (struct (field i32) (field i32)))
  (type $arr (array (mut i32)))
  (func (export "_start")
    (local $p (ref $point)) (local $a (ref $arr))
    (local.set $p (struct.new $point (i32.const 20) (i32.const 3)))
    (local.set $a (array.new $arr (i32.const 7) (i32.const 4)))
    (call $exit (i32.add
      (i32.add (struct.get $point 0 (local.get $p)) (struct.get $point 1 (local.get $p)))
      (i32.add (array.get $arr (local.get $a) (i32.const 3)) (array.len (local.get $a)))))))
