// The multihop suite's knowledge base (world.json, the file the CLI's lookup tool reads) as a JS tool for
// the agent tests: lookup(relation, entity) answers as the CLI's tool does, "ENTITY RELATION OBJECT" or
// "no fact ENTITY RELATION".
import fs from 'node:fs';

export function multihopLookup(kbPath) {
  const facts = new Map();
  for (const f of JSON.parse(fs.readFileSync(kbPath, 'utf8')).facts)
    facts.set(`${f.relation.toLowerCase()}\u0000${f.subject.toLowerCase()}`, f.object);
  return ({ relation, entity }) => {
    const object = facts.get(`${relation.toLowerCase()}\u0000${entity.toLowerCase()}`);
    return object === undefined ? `no fact ${entity} ${relation}` : `${entity} ${relation} ${object}`;
  };
}

/// The text after the last "Answer:", as the CLI's agent reads it (engine/lag/tools.hpp, parse_answer).
export function answerOf(text) {
  const at = text.lastIndexOf('Answer:');
  return at < 0 ? null : text.slice(at + 'Answer:'.length).split('\n')[0].trim();
}

/// The lookup tool as OpenAI's API declares it.
export const lookupDeclaration = {
  name: 'lookup',
  description: 'One fact of the knowledge base: the object of RELATION for ENTITY',
  parameters: {
    type: 'object',
    properties: { relation: { type: 'string' }, entity: { type: 'string' } },
    required: ['relation', 'entity'],
  },
};
