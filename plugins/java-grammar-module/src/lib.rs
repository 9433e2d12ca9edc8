//! The Java grammar processor as a loadable native/WASM plugin module.
logitloom_plugin_api::export_plugin!(library = logitloom_java_grammar::library);
