//! A `FunctionRecord` is read back from state with borsh: decoding arbitrary bytes never panics,
//! accepts only canonical encodings, and inverts encoding. (Fuzzed too: `fuzz/` target
//! `function_record`.)

use nexus_runtime::FunctionRecord;
use proptest::prelude::*;

fn record() -> impl Strategy<Value = FunctionRecord> {
    let s = || "[a-z0-9=._-]{0,12}";
    (
        (s(), s(), any::<[u8; 32]>(), s(), any::<u64>()),
        (
            proptest::collection::vec(s(), 0..4),
            proptest::collection::vec((s(), s()), 0..4),
            any::<Option<u64>>(),
            any::<Option<u64>>(),
        ),
    )
        .prop_map(
            |(
                (name, version, code_hash, owner, deployed_height),
                (args, env, fuel, memory_pages),
            )| {
                FunctionRecord {
                    name,
                    version,
                    code_hash,
                    owner,
                    deployed_height,
                    args,
                    env,
                    fuel,
                    memory_pages,
                }
            },
        )
}

proptest! {
    #[test]
    fn decode_inverts_encode(record in record()) {
        let bytes = borsh::to_vec(&record).unwrap();
        prop_assert_eq!(borsh::from_slice::<FunctionRecord>(&bytes).unwrap(), record);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_input_is_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        if let Ok(record) = borsh::from_slice::<FunctionRecord>(&bytes) {
            prop_assert_eq!(borsh::to_vec(&record).unwrap(), bytes);
        }
    }

    #[test]
    fn mutated_records_never_panic(
        record in record(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = borsh::to_vec(&record).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = borsh::from_slice::<FunctionRecord>(&bytes) {
            prop_assert_eq!(borsh::to_vec(&decoded).unwrap(), bytes);
        }
    }
}
