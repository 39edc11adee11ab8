"""Tests for call resolution: each rule of the call graph on a small tree, and what stays unresolved."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from annotator import graphs
from annotator.index import open_index

TREE = {
    "lib/__init__.py": "from .pool import BlockPool as Pool\n",
    "lib/pool.py": """
        class Base:
            def reset(self):
                pass

            @classmethod
            def build(cls):
                return cls.make()

            @classmethod
            def make(cls):
                pass

        class BlockPool(Base):
            def __init__(self, n):
                self.n = n

            def get(self):
                self.reset()
                return helper()

        class NoInit(Base):
            pass

        def helper():
            return 1
        """,
    "lib/util.py": """
        def tool():
            pass

        def _private():
            pass
        """,
    "app/manager.py": """
        import lib.pool
        import lib.util as u
        from lib import Pool
        from lib.pool import NoInit, helper as h
        from lib.util import *
        from torch import nn

        class Queue:
            def push(self):
                pass

        class Manager(Pool):
            def __init__(self, pool: "Pool"):
                self.queue = Queue()
                self.pool = pool
                self.other = make_thing()
                super().__init__(3)

            def run(self):
                self.get()
                self.queue.push()
                self.pool.get()
                self.other.go()
                self.missing()
                lib.pool.helper()
                u.tool()
                h()
                tool()
                _private()
                NoInit()
                Queue()
                Pool(1)

                def inner():
                    return Queue()

                inner()
                len([])
                nn.Linear(1, 2)
                local_var.method()
                get_thing()()

        class Layer(nn.Module):
            def forward(self):
                self.register_buffer()
        """,
}


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    """The call graph of TREE."""
    root = tmp_path_factory.mktemp("calls") / "tree"
    for rel, text in TREE.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip("\n"))
    index = open_index(root, root.parent / "cache")
    return graphs.call_graph(index.load_all(), index.load_flows())


def callees(calls, caller: str) -> list[str]:
    return calls.mapping()[caller]


def test_self_methods_resolve_through_bases(calls):
    """self.m() finds the method on the class or, failing that, on a base in the tree."""
    assert "lib.pool.Base.reset" in callees(calls, "lib.pool.BlockPool.get")
    assert "lib.pool.BlockPool.get" in callees(calls, "app.manager.Manager.run")  # via re-export


def test_cls_methods_resolve(calls):
    """cls.m() inside a classmethod resolves like self.m()."""
    assert callees(calls, "lib.pool.Base.build") == ["lib.pool.Base.make"]


def test_module_functions_imports_and_aliases(calls):
    """Module-level defs, `import a.b`, `import a as b`, `from a import b as c`, and * imports."""
    run = callees(calls, "app.manager.Manager.run")
    assert "lib.pool.helper" in run  # lib.pool.helper() and h()
    assert "lib.util.tool" in run  # u.tool() and tool() from *
    assert "lib.pool.BlockPool.get" in callees(calls, "app.manager.Manager.run")
    assert callees(calls, "lib.pool.BlockPool.get") == ["lib.pool.Base.reset", "lib.pool.helper"]


def test_star_import_skips_private_names(calls):
    """A * import does not bind underscore names, so _private() stays unresolved."""
    assert "_private" in calls.unresolved["app.manager.Manager.run"]


def test_constructors_resolve_to_init_never_to_the_class(calls):
    """Class() is Class.__init__ (own or inherited through a re-exported alias), else object's."""
    run = callees(calls, "app.manager.Manager.run")
    assert "lib.pool.BlockPool.__init__" in run  # Pool(1): alias of BlockPool
    assert "<builtin>.object.__init__" in run  # NoInit(), Queue(): no __init__ in the tree
    assert not {"lib.pool.NoInit", "app.manager.Queue"} & set(run)
    assert "torch.nn.Module.__init__" not in run


def test_typed_attributes_follow_init(calls):
    """self.attr.m() resolves when __init__ builds attr with a constructor or a typed parameter."""
    run = callees(calls, "app.manager.Manager.run")
    assert "app.manager.Queue.push" in run
    assert "lib.pool.BlockPool.get" in run  # self.pool: "Pool" parameter
    assert "self.other.go" in calls.unresolved["app.manager.Manager.run"]


def test_super_and_nested_functions(calls):
    """super().m() skips the class itself; a nested def is found from its enclosing function."""
    assert "lib.pool.BlockPool.__init__" in callees(calls, "app.manager.Manager.__init__")
    assert "app.manager.Manager.run.inner" in callees(calls, "app.manager.Manager.run")
    assert callees(calls, "app.manager.Manager.run.inner") == ["<builtin>.object.__init__"]


def test_unresolved_calls_are_kept_not_guessed(calls):
    """Locals, missing methods and call results stay unresolved, listed under their caller."""
    left = calls.unresolved["app.manager.Manager.run"]
    assert {"self.missing", "local_var.method", "get_thing()"} <= set(left)
    run = callees(calls, "app.manager.Manager.run")
    assert not any("missing" in c or "local_var" in c for c in run)


def test_builtins_and_outside_packages_count_as_external(calls):
    """len(), nn.Linear() and members inherited from an outside base are external, not unresolved."""
    assert "len" not in calls.unresolved.get("app.manager.Manager.run", ())
    assert "nn.Linear" not in calls.unresolved.get("app.manager.Manager.run", ())
    assert "app.manager.Layer.forward" not in calls.unresolved
    assert calls.external >= 3
    unresolved = sum(len(texts) for texts in calls.unresolved.values())  # no repeats in TREE
    assert calls.sites == calls.resolved + calls.external + unresolved + calls.n_ambiguous


@pytest.mark.upstream
def test_real_tree_call_edges(upstream_tree: Path, project_config):
    """On the pinned tree: typed-parameter attributes and constructors resolve across modules."""
    from annotator.graphs.stored import tree_call_graph

    calls = tree_call_graph(open_index(upstream_tree, project_config.cache_dir))
    manager = "vllm.v1.core.single_type_kv_cache_manager.SingleTypeKVCacheManager.allocate_new_blocks"
    assert "vllm.v1.core.block_pool.BlockPool.get_new_blocks" in calls.mapping()[manager]
    coordinator = "vllm.v1.core.kv_cache_coordinator.KVCacheCoordinator.__init__"
    assert "vllm.v1.core.block_pool.BlockPool.__init__" in calls.mapping()[coordinator]
    assert 0.2 < calls.resolved / calls.sites < 1
