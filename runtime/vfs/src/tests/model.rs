//! Random operation sequences against a simple model (path -> file bytes or directory):
//! results, errno values, contents, listings and usage must agree.

use std::collections::BTreeMap;

use nexus_store::StateView;
use proptest::prelude::*;

use super::{committed, new_view, PREFIX};
use crate::*;

type Path = Vec<&'static str>;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File(Vec<u8>),
    Dir,
}

/// How an operation picks its path; resolved against the model's current paths so that most
/// operations hit something that exists.
#[derive(Clone, Debug)]
enum Target {
    /// The `n`-th existing path (modulo their number).
    Existing(usize),
    /// The `n`-th existing file.
    File(usize),
    /// A name inside the `n`-th existing directory (or the root).
    Child(usize, &'static str),
    /// Any path at all.
    Any(Path),
}

#[derive(Clone, Debug)]
enum Op<P = Target> {
    Mkdir(P),
    Create(P),
    Write(P, u64, usize, u8),
    SetSize(P, u64),
    Unlink(P),
    Rmdir(P),
    Rename(P, P),
    /// Commit the pending changes to the base state (exercises reads through both).
    Commit,
}

/// Paths over three names, mostly shallow so that operations often find what they name.
fn path() -> impl Strategy<Value = Path> {
    let name = || prop::sample::select(vec!["a", "b", "c"]);
    prop_oneof![
        3 => prop::collection::vec(name(), 1..=1),
        3 => prop::collection::vec(name(), 2..=2),
        1 => prop::collection::vec(name(), 3..=3),
    ]
}

/// A target strategy from weights for (existing path, existing file, new child, any path).
fn target(w: [u32; 4]) -> impl Strategy<Value = Target> {
    let name = prop::sample::select(vec!["a", "b", "c"]);
    prop_oneof![
        w[0] => any::<usize>().prop_map(Target::Existing),
        w[1] => any::<usize>().prop_map(Target::File),
        w[2] => (any::<usize>(), name).prop_map(|(n, name)| Target::Child(n, name)),
        w[3] => path().prop_map(Target::Any),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let chunk = CHUNK_SIZE as u64;
    let new = || target([1, 0, 4, 1]);
    let file = || target([1, 6, 0, 1]);
    let existing = || target([4, 1, 0, 1]);
    prop_oneof![
        2 => new().prop_map(Op::Mkdir),
        3 => new().prop_map(Op::Create),
        4 => (file(), 0..3 * chunk + 100, 0..2 * CHUNK_SIZE + 10, any::<u8>())
            .prop_map(|(p, off, len, seed)| Op::Write(p, off, len, seed)),
        2 => (file(), 0..4 * chunk).prop_map(|(p, size)| Op::SetSize(p, size)),
        1 => file().prop_map(Op::Unlink),
        1 => existing().prop_map(Op::Rmdir),
        2 => (existing(), target([2, 0, 3, 1])).prop_map(|(a, b)| Op::Rename(a, b)),
        1 => Just(Op::Commit),
    ]
}

#[derive(Default)]
struct Model(BTreeMap<Path, Node>);

impl Model {
    fn pick(&self, t: &Target) -> Path {
        let of_kind = |dirs: bool| -> Vec<&Path> {
            let keys = self.0.iter();
            keys.filter(|(_, n)| (**n == Node::Dir) == dirs)
                .map(|(k, _)| k)
                .collect()
        };
        let nth = |paths: Vec<&Path>, n: usize| match paths.len() {
            0 => vec!["a"],
            len => paths[n % len].clone(),
        };
        match t {
            Target::Any(p) => p.clone(),
            Target::Existing(n) => nth(self.0.keys().collect(), *n),
            Target::File(n) => nth(of_kind(false), *n),
            Target::Child(n, name) => {
                let dirs = of_kind(true);
                let mut p = match n % (dirs.len() + 1) {
                    0 => Vec::new(),
                    i => dirs[i - 1].clone(),
                };
                p.push(name);
                p
            }
        }
    }

    /// Resolves the targets of `op` to paths.
    fn resolve(&self, op: &Op) -> Op<Path> {
        match op {
            Op::Mkdir(t) => Op::Mkdir(self.pick(t)),
            Op::Create(t) => Op::Create(self.pick(t)),
            Op::Write(t, off, len, seed) => Op::Write(self.pick(t), *off, *len, *seed),
            Op::SetSize(t, size) => Op::SetSize(self.pick(t), *size),
            Op::Unlink(t) => Op::Unlink(self.pick(t)),
            Op::Rmdir(t) => Op::Rmdir(self.pick(t)),
            Op::Rename(a, b) => Op::Rename(self.pick(a), self.pick(b)),
            Op::Commit => Op::Commit,
        }
    }

    /// Every proper prefix of `p` must be an existing directory.
    fn check_parent(&self, p: &Path) -> Result<(), u16> {
        for i in 1..p.len() {
            match self.0.get(&p[..i]) {
                None => return Err(errno::NOENT),
                Some(Node::File(_)) => return Err(errno::NOTDIR),
                Some(Node::Dir) => {}
            }
        }
        Ok(())
    }

    fn get(&self, p: &Path) -> Result<&Node, u16> {
        self.check_parent(p)?;
        self.0.get(p).ok_or(errno::NOENT)
    }

    fn has_children(&self, p: &Path) -> bool {
        self.0.keys().any(|k| k.len() > p.len() && k.starts_with(p))
    }

    fn file_mut(&mut self, p: &Path) -> Result<&mut Vec<u8>, u16> {
        match self.get(p)? {
            Node::Dir => Err(errno::ISDIR),
            Node::File(_) => match self.0.get_mut(p) {
                Some(Node::File(data)) => Ok(data),
                _ => unreachable!(),
            },
        }
    }

    fn apply(&mut self, op: &Op<Path>) -> Result<(), u16> {
        match op {
            Op::Mkdir(p) => {
                self.check_parent(p)?;
                if self.0.contains_key(p) {
                    return Err(errno::EXIST);
                }
                self.0.insert(p.clone(), Node::Dir);
            }
            Op::Create(p) => {
                self.check_parent(p)?;
                match self.0.get(p) {
                    Some(Node::Dir) => return Err(errno::ISDIR),
                    Some(Node::File(_)) => {}
                    None => {
                        self.0.insert(p.clone(), Node::File(Vec::new()));
                    }
                }
            }
            Op::Write(p, off, len, seed) => {
                let data = self.file_mut(p)?;
                let bytes = pattern(*len, *seed);
                if !bytes.is_empty() {
                    let off = *off as usize;
                    if data.len() < off + bytes.len() {
                        data.resize(off + bytes.len(), 0);
                    }
                    data[off..off + bytes.len()].copy_from_slice(&bytes);
                }
            }
            Op::SetSize(p, size) => self.file_mut(p)?.resize(*size as usize, 0),
            Op::Unlink(p) => match self.get(p)? {
                Node::Dir => return Err(errno::ISDIR),
                Node::File(_) => {
                    self.0.remove(p);
                }
            },
            Op::Rmdir(p) => match self.get(p)? {
                Node::File(_) => return Err(errno::NOTDIR),
                Node::Dir if self.has_children(p) => return Err(errno::NOTEMPTY),
                Node::Dir => {
                    self.0.remove(p);
                }
            },
            Op::Rename(from, to) => {
                let src = self.get(from)?.clone();
                self.check_parent(to)?;
                if from == to {
                    return Ok(());
                }
                if src == Node::Dir && to.len() > from.len() && to.starts_with(from) {
                    return Err(errno::INVAL);
                }
                match (&src, self.0.get(to)) {
                    (Node::File(_), Some(Node::Dir)) => return Err(errno::ISDIR),
                    (Node::Dir, Some(Node::File(_))) => return Err(errno::NOTDIR),
                    (Node::Dir, Some(Node::Dir)) if self.has_children(to) => {
                        return Err(errno::NOTEMPTY)
                    }
                    _ => {}
                }
                self.0.remove(to);
                let moved: Vec<Path> = self
                    .0
                    .keys()
                    .filter(|k| k.starts_with(from))
                    .cloned()
                    .collect();
                for old in moved {
                    let node = self.0.remove(&old).expect("listed above");
                    let mut new = to.clone();
                    new.extend_from_slice(&old[from.len()..]);
                    self.0.insert(new, node);
                }
            }
            Op::Commit => {}
        }
        Ok(())
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8) | 1).collect()
}

fn join(p: &Path) -> String {
    p.join("/")
}

fn run(fs: &mut Fs<'_>, op: &Op<Path>) -> Result<(), FsError> {
    let create = OpenOptions {
        create: true,
        ..Default::default()
    };
    match op {
        Op::Mkdir(p) => fs.mkdir(ROOT_INO, &join(p)).map(drop),
        Op::Create(p) => fs.open(ROOT_INO, &join(p), create).map(drop),
        Op::Write(p, off, len, seed) => {
            let ino = fs.resolve(ROOT_INO, &join(p))?;
            let n = fs.write(ino, *off, &pattern(*len, *seed))?;
            assert_eq!(n, *len);
            Ok(())
        }
        Op::SetSize(p, size) => {
            let ino = fs.resolve(ROOT_INO, &join(p))?;
            fs.set_size(ino, *size)
        }
        Op::Unlink(p) => fs.unlink(ROOT_INO, &join(p)),
        Op::Rmdir(p) => fs.rmdir(ROOT_INO, &join(p)),
        Op::Rename(a, b) => fs.rename(ROOT_INO, &join(a), ROOT_INO, &join(b)),
        Op::Commit => Ok(()),
    }
}

/// The whole tree as the filesystem sees it, listed in small pages.
fn listing(fs: &Fs<'_>, dir: Ino, at: &Path, out: &mut BTreeMap<Path, Node>) {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = fs.readdir(dir, after.as_deref(), 2).unwrap();
        let Some(last) = page.last() else { return };
        after = Some(last.name.clone());
        for entry in page {
            let name: &'static str = match entry.name.as_slice() {
                b"a" => "a",
                b"b" => "b",
                b"c" => "c",
                other => panic!("unexpected name {other:?}"),
            };
            let mut p = at.clone();
            p.push(name);
            let st = fs.stat(entry.ino).unwrap();
            assert_eq!(st.kind, entry.kind);
            match entry.kind {
                FileKind::Dir => {
                    out.insert(p.clone(), Node::Dir);
                    listing(fs, entry.ino, &p, out);
                }
                FileKind::File => {
                    let mut buf = vec![0xEE; st.size as usize + 7];
                    let n = fs.read(entry.ino, 0, &mut buf).unwrap();
                    assert_eq!(n as u64, st.size);
                    buf.truncate(n);
                    out.insert(p, Node::File(buf));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_agree_with_a_path_to_bytes_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut view: StateView = new_view();
        let mut model = Model::default();
        for (i, op) in ops.iter().enumerate() {
            if let Op::Commit = op {
                view = StateView::new(committed(&mut view));
                continue;
            }
            let op = model.resolve(op);
            let op = &op;
            let mut fs = Fs::new(&mut view, PREFIX, i as u64, FsQuota::default());
            let got = run(&mut fs, op).map_err(|e| e.errno());
            let want = model.apply(op);
            prop_assert_eq!(got, want, "op {} {:?}", i, op);

            let mut tree = BTreeMap::new();
            listing(&fs, ROOT_INO, &Vec::new(), &mut tree);
            prop_assert_eq!(&tree, &model.0, "after op {} {:?}", i, op);
            let bytes: u64 = model
                .0
                .values()
                .map(|n| match n { Node::File(d) => d.len() as u64, Node::Dir => 0 })
                .sum();
            prop_assert_eq!(
                fs.usage().unwrap(),
                FsUsage { bytes, files: model.0.len() as u64 }
            );
        }
    }
}
