"""The message tree, as plain functions over node ids: used by the conversation (in memory) and
by the store (rows), so both walk the tree the same way.

Every turn is a node: an int id, unique in its conversation and never reused (ids only grow, so
a child's id is always larger than its parent's), and a parent (None: a first message). The
children of a node are its alternatives, in the order they were made (by id). The visible path
is the chain of parents from the conversation's head (the last turn shown) up to a root.

    path_to(head, parents)          the visible path ending at head, root first
    children_of(parents)            parent -> [child ids], oldest first (roots under None)
    newest_descent(node, children)  node, then its newest child, then that one's, ... to a leaf
    subtree(node, children)         node and every descendant (what undoing it removes)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping


def path_to(head: int | None, parents: Mapping[int, int | None]) -> list[int]:
    """The ids from a root down to head. A parent that is missing (a turn that could not be
    saved) ends the walk there, as a root would; a cycle cannot occur (parents are older)."""
    out: list[int] = []
    node = head
    while node is not None and node in parents and len(out) <= len(parents):
        out.append(node)
        node = parents[node]
    return out[::-1]


def children_of(parents: Mapping[int, int | None]) -> dict[int | None, list[int]]:
    """parent -> its children's ids, oldest first. A node whose parent is missing counts as a
    root (under None)."""
    out: dict[int | None, list[int]] = defaultdict(list)
    for node in sorted(parents):
        parent = parents[node]
        out[parent if parent in parents else None].append(node)
    return dict(out)


def newest_descent(node: int, children: Mapping[int | None, list[int]]) -> list[int]:
    """node, then the newest child at each level down to a leaf: where switching to an
    alternative lands (the latest thing said on that branch)."""
    out = [node]
    while children.get(out[-1]):
        out.append(children[out[-1]][-1])
    return out


def subtree(node: int, children: Mapping[int | None, list[int]]) -> set[int]:
    """node and all its descendants."""
    out, todo = set(), [node]
    while todo:
        n = todo.pop()
        out.add(n)
        todo.extend(children.get(n, ()))
    return out


def alternatives(node: int, parents: Mapping[int, int | None]) -> list[int]:
    """The node and its siblings (the children of its parent), oldest first."""
    parent = parents.get(node)
    return children_of(parents).get(parent if parent in parents else None, [node])
