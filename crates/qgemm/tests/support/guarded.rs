//! Test support shared by the qgemm and qconv-direct tests (included with `#[path]`): memory
//! that ends at a guard page, to prove the kernels never read past their inputs.

/// `len` bytes that end exactly where a `PROT_NONE` page starts: a read one byte past them
/// faults (and fails the test) instead of going unnoticed in a heap allocation's slack.
pub struct Guarded {
    map: *mut libc::c_void,
    total: usize,
    len: usize,
}

impl Guarded {
    pub fn page() -> usize {
        // SAFETY: sysconf has no preconditions.
        unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
    }

    pub fn new(len: usize) -> Guarded {
        let page = Self::page();
        let total = (len.div_ceil(page) + 1) * page;
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let map = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED, "mmap failed");
        // SAFETY: the last page lies inside the mapping made above.
        let rc = unsafe {
            libc::mprotect(
                map.cast::<u8>().add(total - page).cast(),
                page,
                libc::PROT_NONE,
            )
        };
        assert_eq!(rc, 0, "mprotect failed");
        Guarded { map, total, len }
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the len bytes right before the guard page are mapped read-write and owned by
        // this value; the borrow is tied to &mut self.
        unsafe {
            let guard = self.map.cast::<u8>().add(self.total - Self::page());
            std::slice::from_raw_parts_mut(guard.sub(self.len), self.len)
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.map, self.total) };
    }
}
