//! The chain TOML parser and validator, parameters of every built-in
//! included: any text is refused with an error or accepted, never a panic.
//! Half the inputs are raw text; the other half build a chain from a
//! built-in's declared parameters with fuzzed values, so the validator sees
//! every parameter kind near its bounds.
#![no_main]

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use logitloom_plugin_host::{ChainSpec, PluginLibrary};

fn value(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 => format!("{}", i64::arbitrary(u)?),
        1 => format!("{:?}", f64::arbitrary(u)?).replace("inf", "inf").replace("NaN", "nan"),
        2 => format!("{}", bool::arbitrary(u)?),
        3 => format!("{:?}", String::arbitrary(u)?),
        4 => format!("{:?}", Vec::<String>::arbitrary(u)?),
        _ => format!("{}", u.int_in_range(-3i64..=3)?),
    })
}

fn structured(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let entries = logitloom_builtins::entries();
    let mut text = String::new();
    if bool::arbitrary(u)? {
        text += &format!("[rewind]\nmax_rewinds = {}\nmax_discarded_tokens = {}\n", u8::arbitrary(u)?, u8::arbitrary(u)?);
    }
    for _ in 0..u.int_in_range(1..=4)? {
        let entry = u.choose(&entries)?;
        let info = (entry.info)();
        text += &format!("[[stage]]\nplugin = {:?}\n", info.name);
        for p in &info.params {
            if bool::arbitrary(u)? {
                text += &format!("{} = {}\n", p.name, value(u)?);
            }
        }
    }
    Ok(text)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = if mode & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        match structured(&mut Unstructured::new(rest)) {
            Ok(t) => t,
            Err(_) => return,
        }
    };
    let dir = std::env::temp_dir();
    let builtins = PluginLibrary::from_entries(logitloom_builtins::entries());
    if let Ok(spec) = ChainSpec::from_toml_str(&text, "fuzz.toml", &dir, &builtins) {
        // Built-ins only (a path stage would need the file): load validates
        // every parameter again and builds the chain.
        if spec.stages().iter().all(|s| !s.plugin.contains('/') && !s.plugin.contains('.')) {
            let _ = spec.load(&Default::default());
        }
    }
});
