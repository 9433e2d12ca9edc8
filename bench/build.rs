fn main() {
    // Only the engine-backed generator links libtorch.
    if std::env::var_os("CARGO_FEATURE_ENGINE").is_some() {
        logitloom_build_support::link_libtorch();
    }
}
