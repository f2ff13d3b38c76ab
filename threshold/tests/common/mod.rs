//! Shared test helpers: an in-process DKG and signers, and an in-process EVM (revm) loaded with
//! the compiled contracts from `$NEXUS_CONTRACTS_OUT`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use alloy_primitives::{Address as EthAddress, Bytes as EthBytes, U256};
use alloy_sol_types::{SolCall, SolValue};
use nexus_threshold::allocation::allocate_shares;
use nexus_threshold::contracts::{creation_bytecode, GatewayConstructor};
use nexus_threshold::dkg::{DkgConfig, DkgMessage, DkgParticipant, DkgPhase, DkgState};
use nexus_threshold::encryption::EncryptionSecret;
use nexus_threshold::nonce_store::NonceStore;
use nexus_threshold::signing::Signer;
use nexus_threshold::{Address, CompressedPoint};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, Journal, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::TxKind;
use revm::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext, MainnetEvm};

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn addr(i: usize) -> Address {
    let mut a = [0u8; 20];
    a[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
    a
}

/// Validators `0..n` with equal stake.
pub fn equal_stakes(n: usize) -> Vec<(Address, u64)> {
    (0..n).map(|i| (addr(i), 1_000)).collect()
}

pub struct Dkg {
    pub state: DkgState,
    pub participants: Vec<DkgParticipant>,
}

/// Sets up the config and every participant's round 1 (applied to the state).
pub fn dkg_round1(stakes: &[(Address, u64)], epoch: u64, rng: &mut ChaCha20Rng) -> Dkg {
    let allocation = allocate_shares(stakes).expect("allocation");
    let secrets: Vec<(Address, EncryptionSecret)> = allocation
        .holders
        .iter()
        .map(|h| (h.address, EncryptionSecret::random(rng)))
        .collect();
    let keys: BTreeMap<Address, CompressedPoint> =
        secrets.iter().map(|(a, s)| (*a, s.public_key())).collect();
    let config = DkgConfig::new(epoch, allocation, &keys).expect("config");
    let mut state = DkgState::new(config.clone());
    let mut participants = Vec::new();
    for (address, secret) in secrets {
        let (p, r1) = DkgParticipant::new(config.clone(), address, secret, rng).expect("deal");
        state
            .apply(&address, &DkgMessage::Round1(r1))
            .expect("round 1 accepted");
        participants.push(p);
    }
    assert_eq!(state.advance(), DkgPhase::Round2);
    Dkg {
        state,
        participants,
    }
}

/// Runs an honest DKG to completion.
pub fn honest_dkg(stakes: &[(Address, u64)], epoch: u64, rng: &mut ChaCha20Rng) -> Dkg {
    let mut dkg = dkg_round1(stakes, epoch, rng);
    for p in &dkg.participants {
        let r2 = p.round2(rng).expect("round 2");
        dkg.state
            .apply(p.address(), &DkgMessage::Round2(r2))
            .expect("round 2 accepted");
    }
    assert_eq!(dkg.state.advance(), DkgPhase::Complaints);
    for p in &dkg.participants {
        assert!(p.complaints(&dkg.state, rng).is_empty());
    }
    assert_eq!(dkg.state.advance(), DkgPhase::Finished);
    dkg
}

/// One signer per participant, with nonce stores under `dir`.
pub fn signers(dkg: &Dkg, dir: &std::path::Path) -> Vec<Signer> {
    dkg.participants
        .iter()
        .filter_map(|p| {
            let packages = p.key_packages(&dkg.state).expect("key packages");
            if packages.is_empty() {
                return None;
            }
            let store = NonceStore::open(dir.join(hex::encode(p.address()))).expect("nonce store");
            Some(Signer::new(*p.address(), packages, store).expect("signer"))
        })
        .collect()
}

// ---------------------------------------------------------------- in-process EVM

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, Db, Journal<Db>, ()>>;

pub const DEPLOYER: EthAddress = EthAddress::repeat_byte(0xd0);

pub struct Chain {
    evm: Evm,
    nonce: u64,
}

#[derive(Debug)]
pub struct Receipt {
    pub success: bool,
    pub output: EthBytes,
    pub gas_used: u64,
    /// Gas spent before refunds and without the EIP-7623 calldata floor (intrinsic included).
    pub gas_spent: u64,
    pub logs: Vec<revm::primitives::Log>,
    pub created: Option<EthAddress>,
}

/// Bytecode of a compiled contract; panics with instructions when the build is missing.
pub fn bytecode(name: &str) -> Vec<u8> {
    match creation_bytecode(name) {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    }
}

impl Chain {
    pub fn new() -> Self {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .build_mainnet();
        Self { evm, nonce: 0 }
    }

    pub fn chain_id(&self) -> u64 {
        self.evm.ctx.cfg.chain_id
    }

    fn tx(&self, to: TxKind, data: Vec<u8>) -> TxEnv {
        TxEnv::builder()
            .caller(DEPLOYER)
            .kind(to)
            .data(data.into())
            .nonce(self.nonce)
            .gas_limit(5_000_000)
            .build_fill()
    }

    fn receipt(result: ExecutionResult) -> Receipt {
        let gas_used = result.tx_gas_used();
        let gas_spent = result.gas().total_gas_spent();
        match result {
            ExecutionResult::Success { logs, output, .. } => {
                let (output, created) = match output {
                    Output::Call(b) => (b, None),
                    Output::Create(b, a) => (b, a),
                };
                Receipt {
                    success: true,
                    output,
                    gas_used,
                    gas_spent,
                    logs,
                    created,
                }
            }
            ExecutionResult::Revert { output, logs, .. } => Receipt {
                success: false,
                output,
                gas_used,
                gas_spent,
                logs,
                created: None,
            },
            ExecutionResult::Halt { logs, .. } => Receipt {
                success: false,
                output: EthBytes::new(),
                gas_used,
                gas_spent,
                logs,
                created: None,
            },
        }
    }

    /// Sends a transaction and commits it.
    pub fn send(&mut self, to: TxKind, data: Vec<u8>) -> Receipt {
        let tx = self.tx(to, data);
        let result = self.evm.transact_commit(tx).expect("transaction is valid");
        self.nonce += 1;
        Self::receipt(result)
    }

    /// Runs a call without committing it.
    pub fn view(&mut self, to: EthAddress, data: Vec<u8>) -> Receipt {
        let tx = self.tx(TxKind::Call(to), data);
        let result = self.evm.transact(tx).expect("call is valid");
        Self::receipt(result.result)
    }

    pub fn deploy(&mut self, name: &str, constructor_args: Vec<u8>) -> Receipt {
        let mut code = bytecode(name);
        code.extend_from_slice(&constructor_args);
        self.send(TxKind::Create, code)
    }

    pub fn call<C: SolCall>(&mut self, to: EthAddress, call: &C) -> Receipt {
        self.send(TxKind::Call(to), call.abi_encode())
    }

    pub fn read<C: SolCall>(&mut self, to: EthAddress, call: &C) -> C::Return {
        let r = self.view(to, call.abi_encode());
        assert!(r.success, "view call reverted: {:?}", r.output);
        C::abi_decode_returns(&r.output).expect("decodes")
    }
}

/// Deploys `NexusGateway` with the given key; returns its address.
pub fn deploy_gateway(chain: &mut Chain, key_x: [u8; 32], epoch: u64) -> Receipt {
    let args = GatewayConstructor {
        initialKeyX: U256::from_be_bytes(key_x),
        initialEpoch: epoch,
    }
    .abi_encode_params();
    chain.deploy("NexusGateway", args)
}

/// A threshold signature on `msg` by the DKG's first `threshold` shares (plain FROST rounds).
pub fn threshold_sign(dkg: &Dkg, msg: &[u8], seed: u64) -> [u8; 65] {
    use nexus_threshold::frost;
    let output = dkg.state.output.as_ref().expect("finished DKG");
    let mut packages = Vec::new();
    for p in &dkg.participants {
        packages.extend(p.key_packages(&dkg.state).expect("key packages"));
    }
    let t = usize::from(output.allocation.threshold);
    let mut rng = rng(seed);
    let chosen = &packages[..t];
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for kp in chosen {
        let (n, c) = frost::round1::commit(kp.signing_share(), &mut rng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments, msg);
    let mut shares = BTreeMap::new();
    for kp in chosen {
        shares.insert(
            *kp.identifier(),
            frost::round2::sign(&package, &nonces[kp.identifier()], kp).expect("sign"),
        );
    }
    let public = output.public_key_package().expect("public key package");
    let sig = frost::aggregate(&package, &shares, &public).expect("aggregate");
    sig.serialize()
        .expect("serialize")
        .try_into()
        .expect("65 bytes")
}

/// Intrinsic gas of a call with `data` (21,000 + 4 per zero byte + 16 per non-zero byte).
pub fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|b| if *b == 0 { 4 } else { 16 })
            .sum::<u64>()
}
