"""A synthetic multi-hop world, generated deterministically from a seed.

24 entities (people, films, companies, cities, countries) get invented two-syllable names, one per first
syllable (Bra..., Dor..., ...; the second syllable drawn per world); every entity has one object per
relation that applies to its type (director, father, birthplace ...).
Questions are chains of 2 to 4 relations from a start entity, asked outermost first, in the spirit of
MuSiQue and 2WikiMultiHop: "What is the birthplace of the father of the director of Kastoria?".

The agent format is the one lagvk's agent loop runs (engine/lag/agent.cpp): every assistant turn is one
line that restates the facts of the chain known so far, in chain order ("Kastoria director Velor."), then
either the final "Answer: X" or the next link's subject and relation with a question mark and the action
that looks it up ("Velor father ? Action: lookup(father, Velor)"). The tool answers with the fact in the
same words ("Velor father Dunmar"). Writing "subject relation" before deciding whether the link is known
turns reading a log into a copy: the model continues "Velor father" with the object if "Velor father X"
is anywhere in its context (a log, a tool answer), and with "?" if not. Because each turn restates what
is known, the last response of a finished task holds the whole resolved chain: that is the log LAG keeps.

Training worlds use seeds other than the evaluation world's, so the model cannot learn the evaluation
facts: it must read them from the tool or from logs in its context.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

# Relation -> (subject type, object type). One object per subject (a function), so a lookup has one answer.
RELATIONS = {
    "director": ("film", "person"),
    "studio": ("film", "company"),
    "father": ("person", "person"),
    "spouse": ("person", "person"),
    "birthplace": ("person", "city"),
    "employer": ("person", "company"),
    "founder": ("company", "person"),
    "headquarters": ("company", "city"),
    "mayor": ("city", "person"),
    "country": ("city", "country"),
    "capital": ("country", "city"),
}
# One entity per first syllable (see make_world): the counts add up to len(FIRST_SYLLABLES).
ENTITY_COUNTS = {"person": 9, "film": 4, "company": 4, "city": 4, "country": 3}

# Names are two syllables, each a token of the vocabulary: copying a name is copying a short token
# sequence, which a small model learns far sooner than a copy circuit for hundreds of one-token names.
# Within a world no two names share a first syllable, so a name is known by its first token: a model
# that copies "Sel" from its context can only continue with that world's one "Sel..." name. (With five
# names per first syllable in a world, 2.8M models ended copied names with another name's syllable.)
FIRST_SYLLABLES = ["Bra", "Dor", "Fen", "Gal", "Hol", "Kas", "Lim", "Mor", "Nel", "Pra", "Quin", "Ros",
                   "Sel", "Tam", "Ul", "Ven", "Wil", "Yor", "Zan", "Tor", "Cal", "Jas", "Pel", "Vor"]
SECOND_SYLLABLES = ["bail", "dor", "fen", "gis", "hal", "kin", "lor", "mar", "nis", "pol", "ros", "sun",
                    "tal", "vek", "wyn", "xar", "zel", "mund", "grim", "thas"]


def endings(first: str) -> list[str]:
    """The second syllables a name may have after `first` (never its own sound twice: no "Dordor")."""
    return [b for b in SECOND_SYLLABLES if first.lower() != b]


def name_pool() -> list[str]:
    """Every invented two-syllable name a world can use (one vocabulary covers them all)."""
    return [a + b for a in FIRST_SYLLABLES for b in endings(a)]


@dataclass
class World:
    seed: int
    entities: dict[str, list[str]]  # type -> names
    facts: dict[tuple[str, str], str] = field(default_factory=dict)  # (subject, relation) -> object

    def type_of(self, name: str) -> str:
        for t, names in self.entities.items():
            if name in names:
                return t
        raise KeyError(name)

    def relations_of(self, name: str) -> list[str]:
        t = self.type_of(name)
        return [r for r, (s, _) in RELATIONS.items() if s == t]

    def kb_json(self) -> dict:
        facts = [{"subject": s, "relation": r, "object": o} for (s, r), o in sorted(self.facts.items())]
        return {
            "description": f"lagvk multihop world, seed {self.seed} (tools/train/world.py). All names are "
            "invented. lookup(relation, entity) returns the object.",
            "seed": self.seed,
            "entities": self.entities,
            "facts": facts,
        }


def make_world(seed: int) -> World:
    rng = random.Random(seed)
    assert sum(ENTITY_COUNTS.values()) == len(FIRST_SYLLABLES)
    picked = [a + rng.choice(endings(a)) for a in FIRST_SYLLABLES]
    rng.shuffle(picked)
    entities: dict[str, list[str]] = {}
    at = 0
    for t, n in ENTITY_COUNTS.items():
        entities[t] = picked[at:at + n]
        at += n
    w = World(seed, entities)
    for r, (st, ot) in RELATIONS.items():
        for s in entities[st]:
            w.facts[(s, r)] = rng.choice([o for o in entities[ot] if o != s])
    return w


@dataclass(frozen=True)
class Question:
    start: str
    relations: tuple[str, ...]

    def text(self) -> str:
        return "What is the " + " of the ".join(reversed(self.relations)) + f" of {self.start}?"

    def chain(self, w: World) -> list[tuple[str, str, str]]:
        out, cur = [], self.start
        for r in self.relations:
            o = w.facts[(cur, r)]
            out.append((cur, r, o))
            cur = o
        return out

    def answer(self, w: World) -> str:
        return self.chain(w)[-1][2]


def random_question(w: World, rng: random.Random, hops: int, start: str | None = None,
                    prefix: tuple[str, ...] = ()) -> Question | None:
    """A chain of `hops` relations (beginning with `prefix`) that never revisits an entity."""
    all_names = [n for names in w.entities.values() for n in names]
    for _ in range(50):
        s = start or rng.choice(all_names)
        rels, cur, visited, ok = [], s, {s}, True
        for i in range(hops):
            r = prefix[i] if i < len(prefix) else rng.choice(w.relations_of(cur))
            if r not in w.relations_of(cur):
                ok = False
                break
            cur = w.facts[(cur, r)]
            if cur in visited:
                ok = False
                break
            visited.add(cur)
            rels.append(r)
        if ok:
            return Question(s, tuple(rels))
        if start is not None and len(prefix) >= hops:
            return None
    return None


UNKNOWN = "?"  # the object of a link the agent has to look up


def link_text(subject: str, relation: str, obj: str) -> str:
    """A link in the one spelling the agent's facts, its open links and the tool's answers all share."""
    return f"{subject} {relation} {obj}"


def fact_text(f: tuple[str, str, str]) -> str:
    return link_text(*f) + "."


def agent_turns(w: World, q: Question, known: dict[tuple[str, str], str]) -> list[dict]:
    """The ideal agent's messages for q when the facts in `known` are in its context (from logs)."""
    msgs = [{"role": "user", "content": q.text()}]
    facts: list[tuple[str, str, str]] = []
    cur, i = q.start, 0
    while True:
        while i < len(q.relations) and (cur, q.relations[i]) in known:
            o = known[(cur, q.relations[i])]
            facts.append((cur, q.relations[i], o))
            cur, i = o, i + 1
        prefix = " ".join(fact_text(f) for f in facts)
        prefix = prefix + " " if prefix else ""
        if i == len(q.relations):
            msgs.append({"role": "assistant", "content": f"{prefix}Answer: {cur}"})
            return msgs
        r = q.relations[i]
        msgs.append({"role": "assistant", "content": f"{prefix}{link_text(cur, r, UNKNOWN)} Action: lookup({r}, {cur})"})
        o = w.facts[(cur, r)]
        msgs.append({"role": "tool", "content": link_text(cur, r, o)})  # as KnowledgeBaseLookup answers
        facts.append((cur, r, o))
        cur, i = o, i + 1


def chain_facts(w: World, q: Question) -> dict[tuple[str, str], str]:
    return {(s, r): o for s, r, o in q.chain(w)}


def trace(w: World, q: Question, known: dict[tuple[str, str], str] | None = None) -> dict:
    return {"task": q.text(), "messages": agent_turns(w, q, known or {})}


def related_question(w: World, q: Question, rng: random.Random) -> Question | None:
    """A different question sharing a sub-chain with q: from one of q's entities, some of q's relations
    from there, then a different continuation (a branch or an extension)."""
    chain = q.chain(w)
    for _ in range(20):
        a = 0 if rng.random() < 0.7 else rng.randrange(len(chain))
        shared = rng.randint(1, len(chain) - a)
        prefix = q.relations[a:a + shared]
        hops = min(4, shared + rng.choice([0, 1, 1, 2]))
        r = random_question(w, rng, hops, start=chain[a][0], prefix=prefix)
        if r is not None and r != q:
            return r
    return None
