package com.example.notes;

import static com.example.notes.db.Tables.NOTE_KINDS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.example.notes.db.tables.records.NoteKindsRecord;
import dev.sqlservice.Session;
import dev.sqlservice.testing.SqlServiceTest;
import java.util.List;
import org.jooq.DSLContext;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The reference data of V2__note_kinds.sql, read without seeding it. Each repetition changes it, and the next one
 * sees it as the migration left it again.
 */
@SqlServiceTest
class NoteKindsTest {

    @RepeatedTest(3)
    void every_test_sees_the_seeded_kinds_whatever_the_test_before_wrote(Session session, DSLContext dsl) {
        assertEquals(List.of("idea", "memo", "todo"),
                session.all(dsl.selectFrom(NOTE_KINDS).orderBy(NOTE_KINDS.CODE)).map(NoteKindsRecord::getCode));

        NoteKindsRecord link = new NoteKindsRecord("link", "Link");
        session.save(link);
        dsl.update(NOTE_KINDS).set(NOTE_KINDS.LABEL, "Changed").where(NOTE_KINDS.CODE.eq("memo")).execute();
        dsl.deleteFrom(NOTE_KINDS).where(NOTE_KINDS.CODE.eq("todo")).execute();
        assertEquals(3, dsl.fetchCount(NOTE_KINDS));
    }
}
