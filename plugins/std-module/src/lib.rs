//! The standard processors as one loadable plugin module: the same
//! `logitloom_std_plugins::library()` the host links in, exported for the
//! native (`cdylib`) and WASM ABIs. The equivalence tests load it both
//! ways and compare against the built-ins.
logitloom_plugin_api::export_plugin!(library = logitloom_std_plugins::library);
