"""The package's surface: exported exceptions, help() text on everything
public, and type stubs that match what the extension really offers."""

import ast
import inspect
import pydoc
from pathlib import Path

import numpy as np
import pytest

import logitloom
import logitloom._native as native
import logitloom.hf
from conftest import in_ci, native_plugin, require

PACKAGE = Path(logitloom.__file__).resolve().parent
STUB = PACKAGE / "_native.pyi"


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def public(names):
    return {n for n in names if not n.startswith("_")}


def public_members(cls):
    """Methods and properties defined by the class itself (not `Exception`'s or `object`'s)."""
    return {n for n in public(vars(cls)) if not isinstance(vars(cls)[n], (int, str))}


def test_exceptions_are_exported_with_their_hierarchy():
    assert issubclass(logitloom.LogitloomError, Exception)
    for cls in (logitloom.ChainConfigError, logitloom.PluginError):
        assert issubclass(cls, logitloom.LogitloomError)
    assert logitloom.ChainError is logitloom.ChainConfigError
    assert logitloom.PluginError.__module__.startswith("logitloom")
    for name in logitloom.__all__:
        assert hasattr(logitloom, name), name


def test_plugin_error_carries_plugin_and_step_as_attributes():
    lib = native_plugin("logitloom-test-plugins")
    chain = logitloom.Chain.from_toml(
        f'[[stage]]\npath = "{lib}"\nprocessor = "fail_at"\nat_step = 1\n\n'
        f'[[stage]]\npath = "{lib}"\nprocessor = "argmax"\n',
        eos_token_id=0,
    )
    state = chain.new_sequences([[1]])

    # argmax picks 63 (not the end of text), so the sequence is still live
    # when `fail_at` fails at step 1.

    row = np.arange(64, dtype=np.float32)[None, :]
    state.step(row)
    with pytest.raises(logitloom.PluginError) as info:
        state.step(row)
    err = info.value
    stub_attrs = {
        node.target.id
        for cls in stub_tree().body
        if isinstance(cls, ast.ClassDef) and cls.name == "PluginError"
        for node in cls.body
        if isinstance(node, ast.AnnAssign)
    }
    assert stub_attrs == {"sequence", "stage", "plugin", "source", "step", "failure"}
    assert {a: getattr(err, a) for a in ("plugin", "step", "stage", "sequence", "failure")} == {
        "plugin": "fail_at", "step": 1, "stage": 1, "sequence": 0, "failure": "error",
    }
    assert err.source == str(lib)


def documented_objects():
    """Every public class, function, method and property, by dotted name."""
    out = {}
    for name in public(logitloom.__all__):
        obj = getattr(logitloom, name)
        if isinstance(obj, str):
            continue
        out[f"logitloom.{name}"] = obj
        if inspect.isclass(obj):
            for member in public_members(obj):
                out[f"logitloom.{name}.{member}"] = getattr(obj, member)
    cls = logitloom.hf.LogitsProcessor
    out["logitloom.hf.LogitsProcessor"] = cls
    for member in public_members(cls):
        out[f"logitloom.hf.LogitsProcessor.{member}"] = getattr(cls, member)
    out["logitloom.hf.LogitsProcessor.__call__"] = cls.__call__
    out["logitloom"] = logitloom
    return out


def test_everything_public_has_help_text():
    objects = documented_objects()
    # Enough to be sure the walk found the API, not an empty module.
    assert {"logitloom.Chain.from_toml", "logitloom.Sequences.step", "logitloom.Sequences.rewinds",
            "logitloom.Chain.logits_processor", "logitloom.plugin_processors"} <= set(objects)
    undocumented = [name for name, obj in objects.items() if len((inspect.getdoc(obj) or "").strip()) < 20]
    # __call__ is documented on its class; its own doc is inherited boilerplate at worst.
    undocumented = [n for n in undocumented if not n.endswith("__call__")]
    assert not undocumented, f"no help() text: {undocumented}"
    text = pydoc.render_doc(logitloom.Chain, renderer=pydoc.plaintext)
    assert "from_toml" in text and "ChainConfigError" in text and "new_sequences" in text


def stub_signature(fn: ast.FunctionDef) -> list:
    """(name, kind, default) of a stub's parameters, `self` dropped."""
    args = fn.args
    out = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for a, d in zip(positional, defaults):
        out.append((a.arg, "positional", None if d is None else ast.literal_eval(d)))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append((a.arg, "keyword", None if d is None else ast.literal_eval(d)))
    if out and out[0][0] == "self":
        out = out[1:]
    return out


def runtime_signature(obj) -> list:
    out = []
    for p in inspect.signature(obj).parameters.values():
        if p.name in ("self", "$self"):
            continue
        kind = "keyword" if p.kind is p.KEYWORD_ONLY else "positional"
        out.append((p.name, kind, None if p.default is p.empty else p.default))
    return out


def test_stubs_match_the_extension():
    tree = stub_tree()
    stub_names = set()
    checked = 0
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            stub_names.add(node.name)
            runtime = getattr(native, node.name)
            members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            if not issubclass(runtime, BaseException):
                assert public(members) == public_members(runtime), node.name
            for fn in (n for n in node.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")):
                is_property = any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list)
                attr = inspect.getattr_static(runtime, fn.name)
                assert is_property == inspect.isdatadescriptor(attr), f"{node.name}.{fn.name}"
                if not is_property:
                    assert stub_signature(fn) == runtime_signature(getattr(runtime, fn.name)), f"{node.name}.{fn.name}"
                    checked += 1
        elif isinstance(node, ast.FunctionDef):
            stub_names.add(node.name)
            assert stub_signature(node) == runtime_signature(getattr(native, node.name)), node.name
            checked += 1
        elif isinstance(node, ast.AnnAssign):
            stub_names.add(node.target.id)
    assert stub_names == public(dir(native)), "stub and extension list different names"
    assert checked >= 8


def test_the_package_is_typed():
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()
    # The pure-Python adapter is annotated throughout, so it needs no stub.
    hints = inspect.signature(logitloom.hf.LogitsProcessor.__init__).parameters
    assert all(p.annotation is not p.empty for n, p in hints.items() if n != "self")


def test_require_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="missing a thing: make it"):
        require(False, "a thing", "make it")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="missing a thing: make it"):
        require(False, "a thing", "make it")
    require(True, "a thing", "make it")
