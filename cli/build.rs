fn main() {
    logitloom_build_support::link_libtorch();
}
