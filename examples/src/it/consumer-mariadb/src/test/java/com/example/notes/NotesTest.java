package com.example.notes;

import static com.example.notes.db.Tables.AUTHORS;
import static com.example.notes.db.Tables.NOTES;
import static com.example.notes.db.Tables.PUBLISHED_NOTES;
import static org.jooq.impl.DSL.selectFrom;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.example.notes.db.enums.NotesState;
import com.example.notes.db.tables.records.AuthorsRecord;
import com.example.notes.db.tables.records.NotesRecord;
import dev.sqlservice.AsyncSession;
import dev.sqlservice.testing.SqlServiceTest;
import java.time.LocalDateTime;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

/** A new user's project on MariaDB: its own migrations, classes generated from them, typed queries, the harness. */
@SqlServiceTest
class NotesTest {

    @Test
    void saveAll_writes_rows_and_typed_queries_read_them_through_the_generated_column_and_the_view(
            AsyncSession session) {
        AuthorsRecord ada = session.save(author("ada@example.com", "Ada")).toCompletableFuture().join();
        NotesRecord draft = note(ada, "a first draft");
        NotesRecord published = note(ada, "published");
        published.setState(NotesState.published);

        List<NotesRecord> saved = session.saveAll(List.of(draft, published)).toCompletableFuture().join();

        assertNotNull(saved.get(0).getId());
        assertEquals(NotesState.draft, saved.get(0).getState());
        assertEquals(3, session.one(selectFrom(NOTES).where(NOTES.ID.eq(saved.get(0).getId())))
                .toCompletableFuture().join().getWords());
        assertEquals("published", session.one(selectFrom(PUBLISHED_NOTES)).toCompletableFuture().join().getBody());
        assertEquals(2, session.all(selectFrom(NOTES.join(AUTHORS).on(NOTES.AUTHOR_ID.eq(AUTHORS.ID)))
                .where(AUTHORS.EMAIL.eq("ada@example.com"))).toCompletableFuture().join().size());
    }

    @Test
    void the_trigger_stamps_every_update(AsyncSession session) throws InterruptedException {
        AuthorsRecord grace = session.save(author("grace@example.com", "Grace")).toCompletableFuture().join();
        NotesRecord note = session.save(note(grace, "v1")).toCompletableFuture().join();
        LocalDateTime created = session.one(selectFrom(NOTES).where(NOTES.ID.eq(note.getId())))
                .toCompletableFuture().join().getUpdatedAt();
        Thread.sleep(2);

        note.setBody("v2");
        session.save(note).toCompletableFuture().join();

        NotesRecord updated = session.one(selectFrom(NOTES).where(NOTES.ID.eq(note.getId())))
                .toCompletableFuture().join();
        assertEquals("v2", updated.getBody());
        assertTrue(updated.getUpdatedAt().isAfter(created), updated.getUpdatedAt() + " after " + created);
    }

    @Test
    void the_check_constraint_rejects_what_is_not_an_address(AsyncSession session) {
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

    private static NotesRecord note(AuthorsRecord author, String body) {
        NotesRecord note = new NotesRecord();
        note.setAuthorId(author.getId());
        note.setBody(body);
        return note;
    }
}
