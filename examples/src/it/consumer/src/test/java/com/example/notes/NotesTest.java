package com.example.notes;

import static com.example.notes.db.Tables.AUTHORS;
import static com.example.notes.db.Tables.NOTES;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.notes.db.enums.NoteState;
import com.example.notes.db.tables.records.AuthorsRecord;
import com.example.notes.db.tables.records.NotesRecord;
import dev.sqlservice.AsyncSession;
import dev.sqlservice.testing.SqlServiceTest;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

/** A new user's project: its own migrations, classes generated from them, typed queries, the harness. */
@SqlServiceTest
class NotesTest {

    @Test
    void saveAll_writes_rows_into_their_partitions_and_typed_queries_read_them(AsyncSession session) {
        AuthorsRecord ada = new AuthorsRecord();
        ada.setEmail("ada@example.com");
        ada.setName("Ada");
        NotesRecord draft = note(1L, LocalDate.of(2026, 3, 1), "first draft");
        NotesRecord published = note(2L, LocalDate.of(2025, 12, 31), "published");
        published.setState(NoteState.published);

        session.save(ada).toCompletableFuture().join();
        draft.setAuthorId(ada.getId());
        published.setAuthorId(ada.getId());
        List<NotesRecord> saved = session.saveAll(List.of(draft, published)).toCompletableFuture().join();

        assertNotNull(saved.get(0).getUpdatedAt());
        assertEquals(NoteState.draft, saved.get(0).getState());
        NotesRecord found = session.one(selectFrom(NOTES).where(NOTES.STATE.eq(NoteState.published)))
                .toCompletableFuture().join();
        assertEquals("published", found.getBody());
        assertEquals(1, session.all(selectFrom(NOTES.join(AUTHORS).on(NOTES.AUTHOR_ID.eq(AUTHORS.ID)))
                .where(AUTHORS.EMAIL.eq("ada@example.com"), NOTES.CREATED_ON.ge(LocalDate.of(2026, 1, 1))))
                .toCompletableFuture().join().size());
    }

    @Test
    void the_trigger_stamps_every_update(AsyncSession session) {
        AuthorsRecord grace = session.save(author("grace@example.com", "Grace")).toCompletableFuture().join();
        NotesRecord v1 = note(3L, LocalDate.of(2026, 6, 1), "v1");
        v1.setAuthorId(grace.getId());
        NotesRecord note = session.save(v1).toCompletableFuture().join();
        OffsetDateTime created = note.getUpdatedAt();

        note.setBody("v2");
        NotesRecord updated = session.save(note).toCompletableFuture().join();

        assertTrue(updated.getUpdatedAt().isAfter(created), updated.getUpdatedAt() + " after " + created);
        assertEquals("v2", session.one(selectFrom(NOTES).where(NOTES.ID.eq(note.getId())))
                .toCompletableFuture().join().getBody());
    }

    @Test
    void the_email_domain_rejects_what_is_not_an_address(AsyncSession session) {
        CompletionException failure = assertThrows(CompletionException.class,
                () -> session.save(author("not an address", "Nobody")).toCompletableFuture().join());
        assertTrue(failure.getCause() instanceof DataAccessException, failure.toString());
    }

    private static AuthorsRecord author(String email, String name) {
        AuthorsRecord author = new AuthorsRecord();
        author.setEmail(email);
        author.setName(name);
        return author;
    }

    /** A partitioned table's primary key includes the partition key: saveAll needs all of it, the id too. */
    private static NotesRecord note(long id, LocalDate createdOn, String body) {
        NotesRecord note = new NotesRecord();
        note.setId(id);
        note.setCreatedOn(createdOn);
        note.setBody(body);
        return note;
    }
}
