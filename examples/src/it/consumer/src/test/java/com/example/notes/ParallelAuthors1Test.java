package com.example.notes;

import static com.example.notes.db.Tables.AUTHORS;
import static com.example.notes.db.Tables.NOTE_KINDS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.example.notes.db.tables.records.AuthorsRecord;
import dev.sqlservice.Session;
import dev.sqlservice.testing.SqlServiceTest;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;

/**
 * Runs at the same time as ParallelAuthors2Test (src/test/resources/junit-platform.properties): each writes an
 * author, waits until the other has written too, and sees only its own.
 */
@SqlServiceTest
class ParallelAuthors1Test {

    @Test
    void sees_only_its_own_rows_while_the_other_class_writes(Session session, DSLContext dsl) throws Exception {
        AuthorsRecord mine = new AuthorsRecord();
        mine.setEmail("class1@example.com");
        mine.setName("Class 1");
        session.save(mine);
        ParallelClasses.BOTH_WROTE.await(60, TimeUnit.SECONDS);

        assertEquals(List.of("class1@example.com"), session.all(dsl.selectFrom(AUTHORS)).map(AuthorsRecord::getEmail));
        assertEquals(3, dsl.fetchCount(NOTE_KINDS));
    }
}
