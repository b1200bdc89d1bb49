//! The process's allocator: jemalloc, so that memory stays bounded without operators
//! setting `MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_`.
//!
//! Under glibc's malloc each blocking thread that hashed a password kept its own arena with
//! the 19 MiB argon2 block (16 logins at once: 683 MiB), and freed stream buffers stayed
//! resident after the streams closed. jemalloc hands freed pages back to the kernel on a
//! decay clock (10 s by default), and with the crate's `background_threads` feature its own
//! thread does so even when the server then goes idle (without it, purging waits for the
//! next allocation in that arena). The decay is 1 s here, set when jemalloc is built
//! (`JEMALLOC_SYS_WITH_MALLOC_CONF` in .cargo/config.toml), so a burst soon after start-up
//! does not stack on the start-up's freed pages. Measured in docs/benchmarks.md ("Memory
//! without environment variables").

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
