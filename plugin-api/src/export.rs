//! The export macro: the one line that turns processor types into a
//! loadable plugin library, native or WASM depending on the target.

/// Exports processors from a plugin library.
///
/// ```ignore
/// // processor types implementing LogitProcessor:
/// logitloom_plugin_api::export_plugin!(MyTopK, MySampler);
/// // or a function listing entries (how the standard library is exported):
/// logitloom_plugin_api::export_plugin!(library = my_crate::library);
/// ```
///
/// Built for `wasm32` this defines the exports of `docs/wasm-abi.md`;
/// otherwise an `abi_stable` root module plus the
/// `logitloom_interface_version` symbol. The crate needs
/// `crate-type = ["cdylib"]` and may invoke the macro once.
#[macro_export]
macro_rules! export_plugin {
    (library = $library:path) => {
        $crate::__export_plugin_with_version!($crate::INTERFACE_VERSION; $library);
    };
    ($($processor:ty),+ $(,)?) => {
        $crate::__export_plugin_with_version!(
            $crate::INTERFACE_VERSION;
            || ::std::vec![$($crate::ProcessorEntry::of::<$processor>()),+]
        );
    };
}

/// [`export_plugin!`] with an explicit interface version. Only for the test
/// suite's deliberately outdated plugin: a library that lies about its
/// version is refused by the host, which is the point of that test.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin_with_version {
    ($version:expr; $library:expr) => {
        #[doc(hidden)]
        pub struct __LogitloomExportedLibrary;

        impl $crate::ffi::ExportedLibrary for __LogitloomExportedLibrary {
            const INTERFACE_VERSION: $crate::InterfaceVersion = $version;
            fn entries() -> &'static [$crate::ProcessorEntry] {
                static ENTRIES: ::std::sync::OnceLock<::std::vec::Vec<$crate::ProcessorEntry>> =
                    ::std::sync::OnceLock::new();
                ENTRIES.get_or_init(|| {
                    let library: fn() -> ::std::vec::Vec<$crate::ProcessorEntry> = $library;
                    library()
                })
            }
        }

        #[cfg(not(target_arch = "wasm32"))]
        $crate::__export_native!(__LogitloomExportedLibrary);
        #[cfg(target_arch = "wasm32")]
        $crate::__export_wasm!(__LogitloomExportedLibrary);
    };
}

/// The static `abi_stable` looks up in a library (its mangled
/// `ROOT_MODULE_LOADER_NAME`; a unit test keeps the two in step). Spelled
/// out because `#[export_root_module]` expands to `::abi_stable` paths that
/// a plugin crate without a direct `abi_stable` dependency cannot resolve.
#[doc(hidden)]
#[macro_export]
macro_rules! __root_module_loader_name {
    () => {
        "_1as_0lib_1header_0root_bmodule_bloader"
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_native {
    ($lib:ty) => {
        #[no_mangle]
        pub extern "C" fn logitloom_interface_version() -> u32 {
            $crate::ffi::native::interface_version::<$lib>()
        }

        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static logitloom_rewind_api: $crate::ffi::native::RewindApi = $crate::ffi::native::REWIND_API;

        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::ffi::native::abi_stable::library::LibHeader = {
            extern "C" fn load_root_module() -> $crate::ffi::native::abi_stable::library::RootModuleResult {
                $crate::ffi::native::abi_stable::library::__call_root_module_loader($crate::ffi::native::module::<$lib>)
            }
            // SAFETY: this is the header abi_stable's own `export_root_module`
            // emits: the constructor returns this library's root module, and
            // `CheckTypeLayout::Yes` makes the host check its layout on load.
            unsafe {
                $crate::ffi::native::abi_stable::library::LibHeader::from_constructor::<
                    $crate::ffi::native::PluginModuleRef,
                >(load_root_module, $crate::ffi::native::abi_stable::library::CheckTypeLayout::Yes)
            }
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_wasm {
    ($lib:ty) => {
        #[no_mangle]
        pub extern "C" fn logitloom_interface_version() -> u32 {
            $crate::ffi::pack_version(<$lib as $crate::ffi::ExportedLibrary>::INTERFACE_VERSION)
        }
        #[no_mangle]
        pub extern "C" fn logitloom_alloc(size: u32, align: u32) -> u32 {
            $crate::ffi::wasm::alloc(size, align)
        }
        #[no_mangle]
        pub extern "C" fn logitloom_describe() -> u64 {
            $crate::ffi::wasm::describe::<$lib>()
        }
        #[no_mangle]
        pub extern "C" fn logitloom_last_error() -> u64 {
            $crate::ffi::wasm::last_error()
        }
        /// # Safety
        /// Called by the host through the WASM ABI, with buffers it wrote.
        #[no_mangle]
        pub unsafe extern "C" fn logitloom_create(
            index: u32,
            params_ptr: *const u8,
            params_len: u32,
            vocab_size: u32,
            eos_token_id: u32,
            seed: u64,
            token_bytes_data: *const u8,
            token_bytes_data_len: u32,
            token_bytes_offsets: *const u32,
            token_bytes_offsets_len: u32,
        ) -> i32 {
            // SAFETY: the host's buffers, per `docs/wasm-abi.md`.
            unsafe {
                $crate::ffi::wasm::create::<$lib>(
                    index,
                    params_ptr,
                    params_len,
                    vocab_size,
                    eos_token_id,
                    seed,
                    token_bytes_data,
                    token_bytes_data_len,
                    token_bytes_offsets,
                    token_bytes_offsets_len,
                )
            }
        }
        /// # Safety
        /// Called by the host through the WASM ABI, with buffers it wrote.
        #[no_mangle]
        pub unsafe extern "C" fn logitloom_process(
            logits: *mut f32,
            vocab_size: u32,
            tokens: *const u32,
            tokens_len: u32,
            prompt_len: u32,
            step: u32,
            raw_logits: *const f32,
        ) -> i32 {
            // SAFETY: the host's buffers, per `docs/wasm-abi.md`.
            unsafe { $crate::ffi::wasm::process(logits, vocab_size, tokens, tokens_len, prompt_len, step, raw_logits) }
        }
        /// # Safety
        /// Called by the host through the WASM ABI, with buffers it wrote.
        #[no_mangle]
        pub unsafe extern "C" fn logitloom_sample(
            logits: *const f32,
            vocab_size: u32,
            tokens: *const u32,
            tokens_len: u32,
            prompt_len: u32,
            step: u32,
            raw_logits: *const f32,
        ) -> i64 {
            // SAFETY: the host's buffers, per `docs/wasm-abi.md`.
            unsafe { $crate::ffi::wasm::sample(logits, vocab_size, tokens, tokens_len, prompt_len, step, raw_logits) }
        }
        #[no_mangle]
        pub extern "C" fn logitloom_rollback(len: u32) -> i32 {
            $crate::ffi::wasm::rollback(len)
        }
        /// # Safety
        /// Called by the host through the WASM ABI, with buffers it wrote.
        #[no_mangle]
        pub unsafe extern "C" fn logitloom_accept(
            tokens: *const u32,
            tokens_len: u32,
            prompt_len: u32,
            step: u32,
            vocab_size: u32,
            token: u32,
        ) -> i32 {
            // SAFETY: the host's buffers, per `docs/wasm-abi.md`.
            unsafe { $crate::ffi::wasm::accept(tokens, tokens_len, prompt_len, step, vocab_size, token) }
        }
    };
}
