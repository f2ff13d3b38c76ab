//! Operations on names: open/create, mkdir, rmdir, unlink, rename.

use crate::dir::Entry;
use crate::inode::Inode;
use crate::path::{self, Parsed};
use crate::quota::Meta;
use crate::{FileKind, Fs, FsError, Ino, Tx, ROOT_INO};

/// How [`Fs::open`] treats the path (the WASI `oflags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create a regular file if the name does not exist.
    pub create: bool,
    /// With `create`: fail with `EEXIST` if the name exists.
    pub exclusive: bool,
    /// Truncate an existing regular file to size 0.
    pub truncate: bool,
    /// The path must name a directory (`ENOTDIR` otherwise; cannot be combined with creating).
    pub directory: bool,
}

impl Fs<'_> {
    /// Opens (or creates) the file or directory at `path` and returns its inode. Descriptors and
    /// rights are the WASI layer's business; this only resolves, creates and truncates.
    pub fn open(&mut self, dir: Ino, path: &str, opts: OpenOptions) -> Result<Ino, FsError> {
        let parsed = path::parse(path)?;
        if parsed.final_dot {
            let ino = self.resolve(dir, path)?;
            return self.open_existing(ino, FileKind::Dir, &parsed, opts);
        }
        let loc = self.locate(dir, &parsed)?;
        if let Some(entry) = loc.entry {
            return self.open_existing(entry.ino, entry.kind, &parsed, opts);
        }
        if !opts.create {
            return Err(FsError::NotFound);
        }
        if opts.directory {
            return Err(FsError::Invalid("open cannot create a directory"));
        }
        if parsed.dir_only {
            return Err(FsError::IsDir);
        }
        let mut meta = self.load_meta()?;
        let ino = meta.alloc(&self.quota)?;
        let mut tx = Tx::default();
        tx.put(self.inode_key(ino), &Inode::file(self.now_ns));
        self.add_entry(
            &mut tx,
            loc.parent,
            loc.parent_inode,
            loc.name,
            ino,
            FileKind::File,
            0,
        );
        tx.put(self.meta_key(), &meta);
        self.apply(tx);
        Ok(ino)
    }

    fn open_existing(
        &mut self,
        ino: Ino,
        kind: FileKind,
        parsed: &Parsed<'_>,
        opts: OpenOptions,
    ) -> Result<Ino, FsError> {
        if opts.create && opts.exclusive {
            return Err(FsError::Exists);
        }
        match kind {
            FileKind::Dir if opts.create || opts.truncate => Err(FsError::IsDir),
            FileKind::Dir => Ok(ino),
            FileKind::File if opts.directory || parsed.dir_only => Err(FsError::NotDir),
            FileKind::File => {
                if opts.truncate {
                    self.set_size(ino, 0)?;
                }
                Ok(ino)
            }
        }
    }

    /// Creates a directory; `EEXIST` if the name exists.
    pub fn mkdir(&mut self, dir: Ino, path: &str) -> Result<Ino, FsError> {
        let parsed = path::parse(path)?;
        if parsed.final_dot {
            self.resolve(dir, path)?;
            return Err(FsError::Exists);
        }
        let loc = self.locate(dir, &parsed)?;
        if loc.entry.is_some() {
            return Err(FsError::Exists);
        }
        let mut meta = self.load_meta()?;
        let ino = meta.alloc(&self.quota)?;
        let mut tx = Tx::default();
        tx.put(self.inode_key(ino), &Inode::dir(loc.parent, self.now_ns));
        self.add_entry(
            &mut tx,
            loc.parent,
            loc.parent_inode,
            loc.name,
            ino,
            FileKind::Dir,
            1,
        );
        tx.put(self.meta_key(), &meta);
        self.apply(tx);
        Ok(ino)
    }

    /// Removes an empty directory.
    pub fn rmdir(&mut self, dir: Ino, path: &str) -> Result<(), FsError> {
        let parsed = path::parse(path)?;
        let loc = self.locate(dir, &parsed)?;
        let entry = loc.entry.ok_or(FsError::NotFound)?;
        if entry.kind != FileKind::Dir {
            return Err(FsError::NotDir);
        }
        if !self.dir_is_empty(entry.ino)? {
            return Err(FsError::NotEmpty);
        }
        let mut meta = self.load_meta()?;
        meta.release(0);
        let mut tx = Tx::default();
        tx.delete(self.inode_key(entry.ino));
        tx.delete(self.entry_key(loc.parent, loc.name));
        let mut parent = loc.parent_inode;
        parent.touch(self.now_ns);
        parent.nlink = parent.nlink.saturating_sub(1);
        tx.put(self.inode_key(loc.parent), &parent);
        tx.put(self.meta_key(), &meta);
        self.apply(tx);
        Ok(())
    }

    /// Removes a file and its data (`EISDIR` for a directory).
    pub fn unlink(&mut self, dir: Ino, path: &str) -> Result<(), FsError> {
        let parsed = path::parse(path)?;
        let loc = self.locate(dir, &parsed)?;
        let entry = loc.entry.ok_or(FsError::NotFound)?;
        if entry.kind == FileKind::Dir {
            return Err(FsError::IsDir);
        }
        if parsed.dir_only {
            return Err(FsError::NotDir);
        }
        let mut tx = Tx::default();
        let mut meta = self.load_meta()?;
        self.remove_file(&mut tx, &mut meta, entry.ino)?;
        tx.delete(self.entry_key(loc.parent, loc.name));
        let mut parent = loc.parent_inode;
        parent.touch(self.now_ns);
        tx.put(self.inode_key(loc.parent), &parent);
        tx.put(self.meta_key(), &meta);
        self.apply(tx);
        Ok(())
    }

    /// Moves `from` to `to` with POSIX semantics: an existing file is replaced by a file, an
    /// existing empty directory by a directory; renaming onto itself does nothing; moving a
    /// directory into its own subtree is `EINVAL`.
    pub fn rename(
        &mut self,
        from_dir: Ino,
        from: &str,
        to_dir: Ino,
        to: &str,
    ) -> Result<(), FsError> {
        let from_parsed = path::parse(from)?;
        let to_parsed = path::parse(to)?;
        let src = self.locate(from_dir, &from_parsed)?;
        let moving = src.entry.ok_or(FsError::NotFound)?;
        let dst = self.locate(to_dir, &to_parsed)?;
        let is_dir = moving.kind == FileKind::Dir;
        if !is_dir && (from_parsed.dir_only || to_parsed.dir_only) {
            return Err(FsError::NotDir);
        }
        if dst.entry.is_some_and(|e| e.ino == moving.ino) {
            return Ok(());
        }
        let mut meta = self.load_meta()?;
        if is_dir && self.is_in_subtree(dst.parent, moving.ino, &meta)? {
            return Err(FsError::Invalid(
                "cannot move a directory into its own subtree",
            ));
        }
        let mut tx = Tx::default();
        let mut replaced_dir = false;
        if let Some(old) = dst.entry {
            match (moving.kind, old.kind) {
                (FileKind::File, FileKind::Dir) => return Err(FsError::IsDir),
                (FileKind::Dir, FileKind::File) => return Err(FsError::NotDir),
                (FileKind::Dir, FileKind::Dir) => {
                    if !self.dir_is_empty(old.ino)? {
                        return Err(FsError::NotEmpty);
                    }
                    tx.delete(self.inode_key(old.ino));
                    meta.release(0);
                    replaced_dir = true;
                }
                (FileKind::File, FileKind::File) => {
                    self.remove_file(&mut tx, &mut meta, old.ino)?
                }
            }
            tx.put(self.meta_key(), &meta);
        }
        let mut inode = self.load_inode(moving.ino)?;
        inode.ctime_ns = self.now_ns;
        if is_dir {
            inode.parent = dst.parent;
        }
        tx.put(self.inode_key(moving.ino), &inode);
        tx.delete(self.entry_key(src.parent, src.name));
        tx.put(self.entry_key(dst.parent, dst.name), &moving);

        let (mut src_parent, mut dst_parent) = (src.parent_inode, dst.parent_inode);
        if src.parent == dst.parent {
            src_parent.touch(self.now_ns);
            if replaced_dir {
                src_parent.nlink = src_parent.nlink.saturating_sub(1);
            }
            tx.put(self.inode_key(src.parent), &src_parent);
        } else {
            src_parent.touch(self.now_ns);
            dst_parent.touch(self.now_ns);
            if is_dir {
                src_parent.nlink = src_parent.nlink.saturating_sub(1);
                if !replaced_dir {
                    dst_parent.nlink += 1;
                }
            }
            tx.put(self.inode_key(src.parent), &src_parent);
            tx.put(self.inode_key(dst.parent), &dst_parent);
        }
        self.apply(tx);
        Ok(())
    }

    /// Queues an entry `name -> ino` in `parent` and the parent's updated inode.
    #[allow(clippy::too_many_arguments)]
    fn add_entry(
        &self,
        tx: &mut Tx,
        parent: Ino,
        mut parent_inode: Inode,
        name: &[u8],
        ino: Ino,
        kind: FileKind,
        subdirs_added: u64,
    ) {
        tx.put(self.entry_key(parent, name), &Entry { ino, kind });
        parent_inode.touch(self.now_ns);
        parent_inode.nlink += subdirs_added;
        tx.put(self.inode_key(parent), &parent_inode);
    }

    /// Queues the removal of file `ino` (inode and data) and accounts for it in `meta`.
    fn remove_file(&self, tx: &mut Tx, meta: &mut Meta, ino: Ino) -> Result<(), FsError> {
        let inode = self.load_inode(ino)?;
        if inode.size > 0 {
            self.truncate_chunks(tx, ino, inode.size, 0)?;
        }
        tx.delete(self.inode_key(ino));
        meta.release(inode.size);
        Ok(())
    }

    /// Whether directory `ino` is `root` or lies below it (walks parent links up to the root).
    fn is_in_subtree(&self, mut ino: Ino, root: Ino, meta: &Meta) -> Result<bool, FsError> {
        // A well-formed tree has at most `files + 1` directories on any path to the root.
        for _ in 0..=meta.files.saturating_add(1) {
            if ino == root {
                return Ok(true);
            }
            if ino == ROOT_INO {
                return Ok(false);
            }
            ino = self.load_inode(ino)?.parent;
        }
        Err(FsError::Corrupt(
            "directory parent links form a cycle".into(),
        ))
    }
}
