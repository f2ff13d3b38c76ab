//! Runs original and instrumented modules through wasmtime (configured like the
//! runtime: NaN canonicalization, fuel) and checks the call-depth bound and that
//! instrumentation does not change results.

use wasmtime::{Config, Engine, Instance, Linker, Module, Store, Trap, Val};

use super::wat;
use crate::*;

fn engine() -> Engine {
    let mut config = Config::new();
    config.cranelift_nan_canonicalization(true);
    config.consume_fuel(true);
    Engine::new(&config).expect("engine")
}

struct Guest {
    store: Store<()>,
    instance: Instance,
}

impl Guest {
    fn new(engine: &Engine, wasm: &[u8]) -> Self {
        let module = Module::new(engine, wasm).expect("compiles");
        let mut store = Store::new(engine, ());
        store.set_fuel(100_000_000).unwrap();
        let mut linker = Linker::new(engine);
        linker
            .func_wrap("nexus_v1", "emit_output", |ptr: i32, len: i32| ptr + len)
            .unwrap();
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiates");
        Self { store, instance }
    }

    fn prepared(wasm: &[u8], limits: &PrepLimits) -> Self {
        let prepared = prepare(wasm, limits).unwrap_or_else(|e| panic!("prepare: {e}"));
        Self::new(&engine(), &prepared.code)
    }

    /// Calls `name` with `args`; results or the trap code as text.
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<String>, String> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .expect("export");
        let n = func.ty(&self.store).results().len();
        let mut results = vec![Val::I32(0); n];
        match func.call(&mut self.store, args, &mut results) {
            Ok(()) => Ok(results.iter().map(|v| format!("{v:?}")).collect()),
            Err(e) => Err(match e.downcast_ref::<Trap>() {
                Some(trap) => format!("trap: {trap}"),
                None => format!("error: {e}"),
            }),
        }
    }

    fn depth(&mut self) -> i32 {
        self.instance
            .get_global(&mut self.store, STACK_DEPTH_GLOBAL_EXPORT)
            .expect("depth global is exported")
            .get(&mut self.store)
            .i32()
            .expect("i32 global")
    }

    fn exports(&mut self) -> Vec<String> {
        let names: Vec<String> = self
            .instance
            .exports(&mut self.store)
            .map(|e| e.name().to_owned())
            .collect();
        names
    }
}

const RECURSION: &str = r#"(module
  (memory (export "memory") 1)
  (func $forever (call $forever))
  (func $rec (export "rec") (param $n i32)
    (if (local.get $n) (then (call $rec (i32.sub (local.get $n) (i32.const 1))))))
  (func $trap_at (export "trap_at") (param $n i32)
    (if (local.get $n) (then (call $trap_at (i32.sub (local.get $n) (i32.const 1)))) (else (unreachable))))
  (func (export "forever") (call $forever))
  (func (export "_start") (call $rec (i32.const 10))))"#;

#[test]
fn unbounded_recursion_traps_and_leaves_the_depth_global_above_the_limit() {
    let mut guest = Guest::prepared(&wat(RECURSION), &PrepLimits::default());
    let trap = guest.call("forever", &[]).unwrap_err();
    assert_eq!(trap, format!("trap: {}", Trap::UnreachableCodeReached));
    assert!(
        guest.depth() as u32 > MAX_CALL_DEPTH,
        "depth {}",
        guest.depth()
    );
    assert_eq!(guest.depth() as u32, MAX_CALL_DEPTH + 1);
}

#[test]
fn recursion_to_five_below_the_limit_succeeds_and_returns_the_depth_to_zero() {
    let mut guest = Guest::prepared(&wat(RECURSION), &PrepLimits::default());
    // `rec(n)` holds n + 1 frames at its deepest.
    let n = (MAX_CALL_DEPTH - 5 - 1) as i32;
    assert_eq!(guest.call("rec", &[Val::I32(n)]), Ok(vec![]));
    assert_eq!(guest.depth(), 0);
}

#[test]
fn exactly_the_limit_succeeds_and_one_frame_more_traps() {
    let limits = PrepLimits {
        max_call_depth: 50,
        ..PrepLimits::default()
    };
    let mut guest = Guest::prepared(&wat(RECURSION), &limits);
    assert_eq!(guest.call("rec", &[Val::I32(49)]), Ok(vec![]));
    assert_eq!(guest.depth(), 0);
    assert!(guest.call("rec", &[Val::I32(50)]).is_err());
    assert_eq!(guest.depth(), 51);
}

#[test]
fn a_trap_below_the_limit_leaves_a_depth_the_runtime_can_tell_apart() {
    let mut guest = Guest::prepared(&wat(RECURSION), &PrepLimits::default());
    assert!(guest.call("trap_at", &[Val::I32(2)]).is_err());
    assert_eq!(guest.depth(), 3);
}

#[test]
fn a_start_that_returns_normally_leaves_the_depth_global_at_zero() {
    let mut guest = Guest::prepared(&wat(RECURSION), &PrepLimits::default());
    assert_eq!(guest.depth(), 0);
    assert_eq!(guest.call("_start", &[]), Ok(vec![]));
    assert_eq!(guest.depth(), 0);
}

/// Functions exercising every way out of a function; each takes one `i32`.
const CONTROL_FLOW: &str = r#"(module
  (import "nexus_v1" "emit_output" (func $emit (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 7))
  (table 2 funcref)
  (elem (i32.const 0) $double $fib)
  (data (i32.const 16) "\2a\00\00\00")
  (type $binop (func (param i32) (result i32)))
  (func (export "_start"))

  (func (export "multi") (param $n i32) (result i32 i64 f32)
    (block $outer
      (loop $l
        (if (i32.eq (local.get $n) (i32.const 3))
          (then (return (i32.const 30) (i64.const 300) (f32.const 3.5))))
        (if (i32.gt_s (local.get $n) (i32.const 10))
          (then (br $outer)))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (br_if $l (i32.lt_s (local.get $n) (i32.const 8)))))
    (i32.add (local.get $n) (global.get $g))
    (i64.extend_i32_s (local.get $n))
    (f32.div (f32.convert_i32_s (local.get $n)) (f32.const 0)))

  (func (export "br_func") (param $n i32) (result i32 i32)
    (local $x i32)
    (local.set $x
      (block (result i32)
        (block
          (if (i32.eqz (local.get $n)) (then (br 3 (i32.const 1) (i32.const 2))))
          (if (i32.lt_s (local.get $n) (i32.const 0)) (then (br 1)))
          (br 1 (i32.mul (local.get $n) (i32.const 10))))
        (i32.const -1)))
    (if (i32.gt_s (local.get $x) (i32.const 50)) (then (br 1 (local.get $x) (i32.const 50))))
    (local.get $x)
    (local.get $n))

  (func (export "br_if_func") (param $n i32) (result i32)
    (br_if 0 (i32.const 100) (i32.gt_s (local.get $n) (i32.const 5)))
    (drop)
    (i32.const 7))

  (func (export "br_table") (param $n i32) (result i32)
    (i32.add (i32.const 1000)
      (block $a (result i32)
        (i32.add (i32.const 100)
          (block $b (result i32)
            (i32.add (i32.const 10)
              (block $c (result i32)
                (br_table $c $b $a 3 (i32.mul (local.get $n) (i32.const 2)) (local.get $n)))))))))

  (func $void_early (param $n i32)
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (if (i32.ge_s (global.get $g) (local.get $n)) (then (return)))
      (br $l)))
  (func (export "void_early") (param $n i32) (result i32)
    (global.set $g (i32.const 0))
    (call $void_early (local.get $n))
    (global.get $g))

  (func (export "return_in_dead_code") (param $n i32) (result i32)
    (if (local.get $n) (then (return (i32.const 1)) (unreachable) (return)))
    (i32.const 5)
    (block (param i32) (result i32) (return (i32.const 2)))
    (drop)
    (i32.const 3))

  (func (export "block_params") (param $n i32) (result i32)
    (local.get $n)
    (block (param i32) (result i32)
      (i32.const 2)
      (i32.mul)
      (br_if 1 (i32.gt_s (local.get $n) (i32.const 4)))
      (return (i32.const -9)))
    (i32.const 0)
    (i32.add))

  (func $double (type $binop) (i32.mul (local.get 0) (i32.const 2)))
  (func $fib (param $n i32) (result i32)
    (if (i32.lt_s (local.get $n) (i32.const 2)) (then (return (local.get $n))))
    (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
             (call $fib (i32.sub (local.get $n) (i32.const 2)))))
  (func (export "indirect") (param $n i32) (result i32)
    (i32.add
      (call_indirect (type $binop) (i32.and (local.get $n) (i32.const 15)) (i32.rem_u (local.get $n) (i32.const 2)))
      (i32.load (i32.const 16))))
  (func (export "host") (param $n i32) (result i32)
    (call $emit (local.get $n) (i32.const 1)))
  (func (export "simd_nan") (param $n i32) (result i32)
    (f32x4.extract_lane 0
      (f32x4.div (f32x4.splat (f32.convert_i32_s (local.get $n))) (f32x4.splat (f32.const 0))))
    (i32.reinterpret_f32)))"#;

#[test]
fn instrumented_functions_return_the_same_results_as_the_original_module() {
    let wasm = wat(CONTROL_FLOW);
    let engine = engine();
    let mut original = Guest::new(&engine, &wasm);
    let mut instrumented = Guest::prepared(&wasm, &PrepLimits::default());
    let names: Vec<String> = original
        .exports()
        .into_iter()
        .filter(|n| n != "memory" && n != "_start")
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    for name in &names {
        for n in -3..=20 {
            let args = [Val::I32(n)];
            let expected = original.call(name, &args);
            let actual = instrumented.call(name, &args);
            assert_eq!(actual, expected, "{name}({n})");
            assert_eq!(
                instrumented.depth(),
                0,
                "{name}({n}) left the depth counter set"
            );
        }
    }
}

#[test]
fn early_returns_and_branches_to_the_function_label_give_the_expected_values() {
    let mut guest = Guest::prepared(&wat(CONTROL_FLOW), &PrepLimits::default());
    let i = |n: i32| Val::I32(n);
    let s = |v: &[&str]| Ok(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    assert_eq!(
        guest.call("multi", &[i(3)]),
        s(&["I32(30)", "I64(300)", "F32(1080033280)"])
    );
    assert_eq!(guest.call("br_func", &[i(0)]), s(&["I32(1)", "I32(2)"]));
    assert_eq!(guest.call("br_func", &[i(-4)]), s(&["I32(-1)", "I32(-4)"]));
    assert_eq!(guest.call("br_func", &[i(9)]), s(&["I32(90)", "I32(50)"]));
    assert_eq!(guest.call("br_if_func", &[i(6)]), s(&["I32(100)"]));
    assert_eq!(guest.call("br_table", &[i(0)]), s(&["I32(1110)"]));
    assert_eq!(guest.call("br_table", &[i(2)]), s(&["I32(1004)"]));
    assert_eq!(guest.call("br_table", &[i(7)]), s(&["I32(14)"]));
    assert_eq!(guest.call("void_early", &[i(5)]), s(&["I32(5)"]));
    assert_eq!(guest.call("return_in_dead_code", &[i(0)]), s(&["I32(2)"]));
    assert_eq!(guest.call("block_params", &[i(5)]), s(&["I32(10)"]));
    assert_eq!(guest.call("block_params", &[i(1)]), s(&["I32(-9)"]));
    assert_eq!(guest.call("indirect", &[i(11)]), s(&["I32(131)"]));
    assert_eq!(guest.call("host", &[i(41)]), s(&["I32(42)"]));
    assert_eq!(guest.depth(), 0);
}

#[test]
fn a_multi_value_block_type_that_already_exists_is_reused_and_a_missing_one_is_added() {
    let with_type = r#"(module
      (type (func (result i32 i64)))
      (memory (export "memory") 1)
      (func (export "_start"))
      (func (export "pair") (param i32) (result i32 i64)
        (if (local.get 0) (then (return (i32.const 1) (i64.const 2))))
        (i32.const 3) (i64.const 4)))"#;
    let without_type = with_type.replace("(type (func (result i32 i64)))", "");
    let count_types = |wasm: &[u8]| {
        wasmparser::Parser::new(0)
            .parse_all(wasm)
            .find_map(|p| match p.unwrap() {
                wasmparser::Payload::TypeSection(r) => Some(r.count()),
                _ => None,
            })
            .unwrap()
    };
    for (src, added) in [(with_type.to_string(), 0), (without_type, 1)] {
        let wasm = wat(&src);
        let prepared = prepare(&wasm, &PrepLimits::default()).unwrap();
        assert_eq!(count_types(&prepared.code), count_types(&wasm) + added);
        let mut guest = Guest::new(&engine(), &prepared.code);
        let ones = guest.call("pair", &[Val::I32(1)]).unwrap();
        assert_eq!(ones, ["I32(1)", "I64(2)"]);
        let zeros = guest.call("pair", &[Val::I32(0)]).unwrap();
        assert_eq!(zeros, ["I32(3)", "I64(4)"]);
    }
}

#[test]
fn existing_globals_exports_and_the_start_section_keep_their_indices() {
    let wasm = wat(r#"(module
          (memory (export "memory") 1)
          (global $a (export "a") (mut i32) (i32.const 5))
          (global $b (export "b") i64 (i64.const 6))
          (func $init (global.set $a (i32.const 9)))
          (start $init)
          (func (export "_start") (global.set $a (i32.add (global.get $a) (i32.const 1)))))"#);
    let mut guest = Guest::prepared(&wasm, &PrepLimits::default());
    guest.call("_start", &[]).unwrap();
    let a = guest.instance.get_global(&mut guest.store, "a").unwrap();
    assert_eq!(a.get(&mut guest.store).i32(), Some(10));
    let b = guest.instance.get_global(&mut guest.store, "b").unwrap();
    assert_eq!(b.get(&mut guest.store).i64(), Some(6));
    assert_eq!(guest.depth(), 0);
    assert_eq!(
        guest.exports(),
        ["memory", "a", "b", "_start", STACK_DEPTH_GLOBAL_EXPORT]
    );
}
