import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { COPIED_TABLES, LIVE_TABLES } from '../../src/store/copy.js';
import { openStore } from '../../src/store/open-store.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

let dir: TempDir | undefined;
afterEach(async () => {
  await dir?.remove();
});

describe('store copy knows every table', () => {
  it('classifies each table the migrations create as copied or live (a new table must say which)', async () => {
    dir = await makeTempDir('chat-copy-tables-');
    const store = await openStore({ file: dir.file('chat.db'), create: true, thread: 'inline' });
    try {
      const tables = (await store.db.introspection.getTables()).map((table) => table.name).sort();
      expect(tables).toEqual([...Object.keys(COPIED_TABLES), ...LIVE_TABLES].sort());
      // Each copied table's key is its primary key (the copy pages through it).
      for (const [table, spec] of Object.entries(COPIED_TABLES)) {
        const info = (await sql<{ name: string; pk: number }>`select name, pk from pragma_table_info(${table})`.execute(store.db)).rows;
        const pk = info.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
        expect(pk, table).toEqual([...spec.key]);
      }
    } finally {
      await store.close();
    }
  });
});
