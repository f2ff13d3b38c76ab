//! `wasi_snapshot_preview1` constants and the guest-memory accessor.

/// A WASI errno (`u16` in the ABI, returned as `i32`).
pub type Errno = u16;

pub const EBADF: Errno = 8;
pub const EFAULT: Errno = 21;
pub const EINVAL: Errno = 28;
pub const EIO: Errno = 29;
pub const EISDIR: Errno = 31;
pub const EMFILE: Errno = 33;
pub const ENOSYS: Errno = 52;
pub const ENOTDIR: Errno = 54;
pub const ENOTSUP: Errno = 58;
pub const ESPIPE: Errno = 70;

pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub const FILETYPE_DIRECTORY: u8 = 3;
pub const FILETYPE_REGULAR_FILE: u8 = 4;

pub const OFLAGS_CREAT: u16 = 1;
pub const OFLAGS_DIRECTORY: u16 = 2;
pub const OFLAGS_EXCL: u16 = 4;
pub const OFLAGS_TRUNC: u16 = 8;

pub const FDFLAGS_APPEND: u16 = 1;

pub const RIGHTS_FD_READ: u64 = 1 << 1;
pub const RIGHTS_FD_WRITE: u64 = 1 << 6;
/// Every right of preview1 (bits 0..=29). Rights are not a security boundary here: the sandbox
/// is the function's own filesystem root, so descriptors advertise everything.
pub const RIGHTS_ALL: u64 = (1 << 30) - 1;

pub const WHENCE_SET: u8 = 0;
pub const WHENCE_CUR: u8 = 1;
pub const WHENCE_END: u8 = 2;

pub const FSTFLAGS_ATIM: u16 = 1;
pub const FSTFLAGS_ATIM_NOW: u16 = 2;
pub const FSTFLAGS_MTIM: u16 = 4;
pub const FSTFLAGS_MTIM_NOW: u16 = 8;

pub const CLOCK_REALTIME: u32 = 0;
pub const CLOCK_THREAD_CPUTIME: u32 = 3;

pub const EVENTTYPE_CLOCK: u8 = 0;

pub const FILESTAT_SIZE: usize = 64;
pub const DIRENT_HEADER_SIZE: usize = 24;
pub const SUBSCRIPTION_SIZE: usize = 48;
pub const EVENT_SIZE: usize = 32;

/// Bounds-checked access to a guest's linear memory. Out-of-range pointers are `EFAULT`.
pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Self { bytes }
    }

    fn range(&self, ptr: i32, len: usize) -> Result<std::ops::Range<usize>, Errno> {
        let start = ptr as u32 as usize;
        let end = start.checked_add(len).ok_or(EFAULT)?;
        if end > self.bytes.len() {
            return Err(EFAULT);
        }
        Ok(start..end)
    }

    pub fn slice(&self, ptr: i32, len: usize) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    pub fn slice_mut(&mut self, ptr: i32, len: usize) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    pub fn write(&mut self, ptr: i32, data: &[u8]) -> Result<(), Errno> {
        self.slice_mut(ptr, data.len())?.copy_from_slice(data);
        Ok(())
    }

    pub fn read_u32(&self, ptr: i32) -> Result<u32, Errno> {
        let b = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn read_u64(&self, ptr: i32) -> Result<u64, Errno> {
        let b = self.slice(ptr, 8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn write_u32(&mut self, ptr: i32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: i32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A UTF-8 path argument.
    pub fn str(&self, ptr: i32, len: i32) -> Result<&str, Errno> {
        let bytes = self.slice(ptr, len as u32 as usize)?;
        std::str::from_utf8(bytes).map_err(|_| EINVAL)
    }

    /// The `(ptr, len)` pairs of an iovec array, capped in total at `max_total` bytes.
    pub fn iovecs(
        &self,
        iovs: i32,
        count: i32,
        max_total: usize,
    ) -> Result<Vec<(i32, usize)>, Errno> {
        let count = count as u32 as usize;
        // An iovec array larger than memory is a fault, not an allocation.
        self.range(iovs, count.checked_mul(8).ok_or(EFAULT)?)?;
        let mut out = Vec::with_capacity(count);
        let mut total = 0usize;
        for i in 0..count {
            let base = iovs.wrapping_add((i * 8) as i32);
            let ptr = self.read_u32(base)? as i32;
            let len = self.read_u32(base.wrapping_add(4))? as usize;
            self.range(ptr, len)?;
            let len = len.min(max_total - total);
            total += len;
            out.push((ptr, len));
        }
        Ok(out)
    }

    /// Concatenated contents of the iovecs (for writes).
    pub fn gather(&self, iovs: &[(i32, usize)]) -> Result<Vec<u8>, Errno> {
        let mut data = Vec::with_capacity(iovs.iter().map(|(_, l)| l).sum());
        for &(ptr, len) in iovs {
            data.extend_from_slice(self.slice(ptr, len)?);
        }
        Ok(data)
    }

    /// Spreads `data` over the iovecs (for reads); returns bytes written.
    pub fn scatter(&mut self, iovs: &[(i32, usize)], mut data: &[u8]) -> Result<usize, Errno> {
        let mut written = 0;
        for &(ptr, len) in iovs {
            if data.is_empty() {
                break;
            }
            let n = len.min(data.len());
            self.write(ptr, &data[..n])?;
            data = &data[n..];
            written += n;
        }
        Ok(written)
    }
}
