//! Property tests of the transaction encoding (the `tx_decode` fuzz target checks the same on
//! fuzzer-made bytes): every transaction round-trips through `decode_and_verify`, and whatever
//! bytes decode are the one canonical encoding of what they decode to, so a transaction hash
//! names exactly one byte string.

use nexus_consensus::address::AccountKey;
use nexus_consensus::execute::kind_name;
use nexus_consensus::tx::{decode_and_verify, FunctionSpec, SignedTx, TxBody, TxKind};
use nexus_consensus::Address;
use proptest::prelude::*;

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address)
}

fn spec() -> impl Strategy<Value = FunctionSpec> {
    (
        "[a-z][a-z0-9_-]{0,12}",
        ".{0,8}",
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(".{0,8}", 0..3),
        proptest::collection::vec((".{0,6}", ".{0,6}"), 0..3),
        any::<Option<u64>>(),
        any::<Option<u64>>(),
    )
        .prop_map(
            |(name, version, code, args, env, fuel, memory_pages)| FunctionSpec {
                name,
                version,
                code,
                args,
                env,
                fuel,
                memory_pages,
            },
        )
}

fn kind() -> impl Strategy<Value = TxKind> {
    prop_oneof![
        (address(), any::<u128>()).prop_map(|(to, amount)| TxKind::Transfer { to, amount }),
        spec().prop_map(TxKind::Deploy),
        spec().prop_map(TxKind::Upgrade),
        (".{0,16}", proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(function, input)| TxKind::Invoke { function, input }),
        (any::<[u8; 32]>(), any::<u128>()).prop_map(|(consensus_key, amount)| {
            TxKind::CreateValidator {
                consensus_key,
                amount,
            }
        }),
        (address(), any::<u128>())
            .prop_map(|(validator, amount)| TxKind::Delegate { validator, amount }),
        (address(), any::<u128>())
            .prop_map(|(validator, amount)| TxKind::Undelegate { validator, amount }),
        Just(TxKind::Unjail),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|key| TxKind::RegisterEncryptionKey { key }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|message| TxKind::Dkg { message }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|elf| TxKind::DeployZk { elf }),
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            any::<u128>()
        )
            .prop_map(|(program, input, reward)| TxKind::RequestProof {
                program,
                input,
                reward
            }),
        Just(TxKind::RegisterProver),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(job, proof)| TxKind::SubmitProof { job, proof }),
    ]
}

/// Fails to compile when a transaction kind is added: give it a fuzz seed in
/// [`one_of_each_kind`] and a place in [`kind`].
const _EVERY_KIND_HAS_A_SEED: fn(&TxKind) = |kind| match kind {
    TxKind::Transfer { .. }
    | TxKind::Deploy(_)
    | TxKind::Upgrade(_)
    | TxKind::Invoke { .. }
    | TxKind::CreateValidator { .. }
    | TxKind::Delegate { .. }
    | TxKind::Undelegate { .. }
    | TxKind::Unjail
    | TxKind::RegisterEncryptionKey { .. }
    | TxKind::Dkg { .. }
    | TxKind::DeployZk { .. }
    | TxKind::RequestProof { .. }
    | TxKind::RegisterProver
    | TxKind::SubmitProof { .. } => {}
};

/// One transaction of every kind, with small realistic fields.
fn one_of_each_kind() -> Vec<TxKind> {
    let spec = FunctionSpec {
        name: "counter".into(),
        version: "1.0.0".into(),
        code: b"\0asm\x01\0\0\0".to_vec(),
        args: vec!["--verbose".into()],
        env: vec![("MODE".into(), "fast".into())],
        fuel: Some(10_000_000),
        memory_pages: Some(16),
    };
    vec![
        TxKind::Transfer {
            to: Address([2; 20]),
            amount: 1_000,
        },
        TxKind::Deploy(spec.clone()),
        TxKind::Upgrade(spec),
        TxKind::Invoke {
            function: "counter".into(),
            input: b"increment".to_vec(),
        },
        TxKind::CreateValidator {
            consensus_key: [3; 32],
            amount: 1_000_000,
        },
        TxKind::Delegate {
            validator: Address([4; 20]),
            amount: 500,
        },
        TxKind::Undelegate {
            validator: Address([4; 20]),
            amount: 200,
        },
        TxKind::Unjail,
        TxKind::RegisterEncryptionKey { key: vec![2; 33] },
        TxKind::Dkg {
            message: vec![1, 0, 0, 0, 5],
        },
        TxKind::DeployZk {
            elf: b"\x7fELF\x01\x01\x01".to_vec(),
        },
        TxKind::RequestProof {
            program: [5; 32],
            input: b"hi".to_vec(),
            reward: 10,
        },
        TxKind::RegisterProver,
        TxKind::SubmitProof {
            job: 1,
            proof: b"NXZKPRF".to_vec(),
        },
    ]
}

/// The `tx_decode` fuzz target's committed seeds (`fuzz/seeds/tx_decode/`, one signed
/// transaction of every kind, so that the fuzzer starts past the signature check) still
/// decode and verify. `NEXUS_WRITE_FUZZ_SEEDS=1` writes them afresh first (signatures are
/// deterministic, RFC 6979).
#[test]
fn fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/tx_decode");
    let key = AccountKey::from_bytes(&[7; 32]).unwrap();
    let kinds = one_of_each_kind();
    if std::env::var_os("NEXUS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for kind in &kinds {
            let body = TxBody {
                chain_id: "nexus-devnet".into(),
                nonce: 3,
                fuel_limit: 1_000_000,
                fuel_price: 1,
                kind: kind.clone(),
            };
            let path = dir.join(format!("{}.tx", kind_name(kind)));
            std::fs::write(path, body.sign(&key).encode()).unwrap();
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let verified = decode_and_verify(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with NEXUS_WRITE_FUZZ_SEEDS=1",
                path.display()
            )
        });
        assert_eq!(verified.sender, key.address(), "{}", path.display());
        seen.insert(kind_name(&verified.body.kind));
    }
    let all: std::collections::BTreeSet<_> = kinds.iter().map(kind_name).collect();
    assert_eq!(
        seen, all,
        "a seed for every kind: regenerate with NEXUS_WRITE_FUZZ_SEEDS=1"
    );
}

fn body() -> impl Strategy<Value = TxBody> {
    (
        "[a-z0-9-]{0,50}",
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        kind(),
    )
        .prop_map(|(chain_id, nonce, fuel_limit, fuel_price, kind)| TxBody {
            chain_id,
            nonce,
            fuel_limit,
            fuel_price,
            kind,
        })
}

fn key() -> impl Strategy<Value = AccountKey> {
    any::<[u8; 32]>().prop_filter_map("not a valid secret key", |b| {
        AccountKey::from_bytes(&b).ok()
    })
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize },
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Remove { at }),
        any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match *m {
        Mutation::Flip { at, bit } => bytes[at % n] ^= 1 << bit,
        Mutation::Set { at, byte } => bytes[at % n] = byte,
        Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
        Mutation::Remove { at } => {
            bytes.remove(at % n);
        }
        Mutation::Truncate { len } => bytes.truncate(len % n),
    }
}

/// Whatever decodes re-encodes to exactly the bytes it came from.
fn assert_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(tx) = borsh::from_slice::<SignedTx>(bytes) {
        prop_assert_eq!(tx.encode(), bytes);
    }
    if let Ok(v) = decode_and_verify(bytes) {
        prop_assert_eq!(v.encoded_len, bytes.len());
        let tx: SignedTx = borsh::from_slice(bytes).expect("verified bytes decode");
        prop_assert_eq!(&tx.body, &v.body);
        prop_assert_eq!(tx.encode(), bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_signed_transaction_round_trips_and_recovers_its_sender(body in body(), key in key()) {
        let tx = body.clone().sign(&key);
        let bytes = tx.encode();
        let decoded: SignedTx = borsh::from_slice(&bytes).unwrap();
        prop_assert_eq!(&decoded, &tx);
        let v = decode_and_verify(&bytes).unwrap();
        prop_assert_eq!(v.body, body);
        prop_assert_eq!(v.sender, key.address());
        prop_assert_eq!(v.encoded_len, bytes.len());
    }

    #[test]
    fn mutated_transactions_fail_to_decode_or_are_canonical(
        body in body(),
        key in key(),
        edits in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut bytes = body.sign(&key).encode();
        for edit in &edits {
            if bytes.is_empty() {
                break;
            }
            apply(&mut bytes, edit);
        }
        assert_canonical(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_fail_to_decode_or_are_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        assert_canonical(&bytes)?;
    }
}
