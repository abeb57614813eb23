package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.sqlservice.example.schema.tables.records.UsersRecord;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;

/**
 * A record that {@code save}/{@code saveAll} returned is in the state of a record jOOQ stored or fetched, on every
 * backend: jOOQ's {@code store()} then updates its row (jOOQ decides between insert and update by its own
 * "fetched" mark, which its {@code store()} sets after an insert), {@code changed()} is false.
 */
@ExampleDatabase
class SavedRecordStateTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** A new record attached to {@code dsl} (as {@code dsl.newRecord} makes it), so that store() can run. */
    static UsersRecord user(DSLContext dsl, Long id, String name) {
        UsersRecord u = dsl.newRecord(USERS);
        if (id != null) {
            u.setId(id);
        }
        u.setName(name);
        return u;
    }

    /** What jOOQ's own insert leaves: store() on the record then updates (the reference for the tests below). */
    @Test
    void reference__a_record_jooq_inserted_updates_on_store(DSLContext dsl) {
        UsersRecord u = dsl.newRecord(USERS);
        u.setId(7L);
        u.setName("jooq");
        assertThat(u.store()).isEqualTo(1);
        u.setName("jooq, renamed");
        assertThat(u.store()).isEqualTo(1);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    @Test
    void a_record_save_inserted_updates_its_row_on_store(Session session, DSLContext dsl) {
        UsersRecord u = session.save(user(dsl, 1L, "Ann"));
        assertThat(u.changed()).isFalse();

        u.setName("Ann, renamed");
        assertThat(u.store()).as("store() after save(): an update of the saved row").isEqualTo(1);

        assertThat(dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(1L)).fetchOne(USERS.NAME))
                .isEqualTo("Ann, renamed");
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    @Test
    void a_record_save_updated_updates_its_row_on_store(Session session, DSLContext dsl) {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(2L, "Bob").execute();
        UsersRecord u = session.save(user(dsl, 2L, "Bob, saved"));

        u.setName("Bob, stored");
        assertThat(u.store()).isEqualTo(1);

        assertThat(dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(2L)).fetchOne(USERS.NAME))
                .isEqualTo("Bob, stored");
    }

    @Test
    void a_record_with_a_generated_key_save_inserted_updates_its_row_on_store(Session session, DSLContext dsl) {
        UsersRecord u = session.save(user(dsl, null, "generated"));
        assertThat(u.getId()).isNotNull();

        u.setName("generated, renamed");
        assertThat(u.store()).isEqualTo(1);

        assertThat(dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(u.getId())).fetchOne(USERS.NAME))
                .isEqualTo("generated, renamed");
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);
    }

    @Test
    void every_record_saveAll_returned_updates_its_row_on_store(AsyncSession session, DSLContext dsl)
            throws Exception {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(3L, "Cid").execute();
        List<UsersRecord> saved = session.saveAll(List.of(user(dsl, 3L, "Cid, saved"), user(dsl, 4L, "Dee"), user(dsl, null, "Eve")))
                .toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

        for (UsersRecord u : saved) {
            u.setName(u.getName() + " (stored)");
            assertThat(u.store()).as("store() of %s after saveAll()", u.getId()).isEqualTo(1);
        }

        assertThat(dsl.select(USERS.NAME).from(USERS).orderBy(USERS.NAME).fetch(USERS.NAME))
                .containsExactly("Cid, saved (stored)", "Dee (stored)", "Eve (stored)");
    }

    @Test
    void a_saved_record_that_changes_nothing_is_not_stored_again(Session session, DSLContext dsl) {
        UsersRecord u = session.save(user(dsl, 5L, "Fay"));
        assertThat(u.store()).as("store() of an unchanged saved record: nothing to write, as for jOOQ").isZero();
    }

    @Test
    void a_detached_record_stays_detached_and_updates_once_attached(Session session, DSLContext dsl) {
        UsersRecord u = new UsersRecord();
        u.setId(6L);
        u.setName("Gus");
        session.save(u);
        assertThat(u.configuration()).as("save() does not attach a record the application kept detached").isNull();

        dsl.attach(u);
        u.setName("Gus, attached");
        assertThat(u.store()).isEqualTo(1);
        assertThat(dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(6L)).fetchOne(USERS.NAME))
                .isEqualTo("Gus, attached");
    }

    /**
     * With jOOQ's {@code updatablePrimaryKeys}, {@code store()} of a record jOOQ stored or fetched updates the key of
     * its row when the key changed (a record jOOQ did not store inserts a second row): a saved record is one jOOQ
     * stored.
     */
    @Test
    void a_saved_record_whose_key_changes_moves_its_row_under_updatable_primary_keys(Session session,
            DSLContext dsl) {
        DSLContext updatable = dsl.configuration().derive(new org.jooq.conf.Settings().withUpdatablePrimaryKeys(true)).dsl();
        UsersRecord jooq = updatable.newRecord(USERS);
        jooq.setId(10L);
        jooq.setName("jooq");
        jooq.store();
        jooq.setId(11L);
        jooq.store();
        assertThat(dsl.select(USERS.ID).from(USERS).fetch(USERS.ID)).as("the reference: jOOQ's own store()")
                .containsExactly(11L);
        dsl.deleteFrom(USERS).execute();

        UsersRecord saved = user(updatable, 20L, "saved");
        session.save(saved);
        saved.setId(21L);
        saved.store();
        assertThat(dsl.select(USERS.ID).from(USERS).fetch(USERS.ID)).as("after save(), the key changed, store()")
                .containsExactly(21L);
    }

    // ---------------------------------------------------------------------------------------------------------
    // A saveAll nested in a transaction that then rolls back: the records may be saved again (a retry loop)
    // ---------------------------------------------------------------------------------------------------------

    private static String name(DSLContext dsl, long id) {
        return dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(id)).fetchOne(USERS.NAME);
    }

    /**
     * The common retry loop: a transaction that saves a changed record fails after the save (here the work throws;
     * a serialization failure at commit is the same) and is run again with the same records. The second attempt
     * must write the change: the refresh of the rolled-back attempt must not have made the record look unchanged.
     */
    @Test
    void a_retried_transaction_writes_the_change_its_rolled_back_attempt_had_saved(Session session, DSLContext dsl) {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(30L, "Ann").execute();
        UsersRecord ann = session.one(org.jooq.impl.DSL.selectFrom(USERS).where(USERS.ID.eq(30L)));
        ann.setName("Ann, renamed");
        int[] attempts = {0};
        for (int attempt = 0; attempt < 2; attempt++) {
            Throwable failure = catchThrowable(() -> session.transaction(tx -> {
                tx.save(ann);
                if (attempts[0]++ == 0) {
                    throw new IllegalStateException("first attempt fails after its save");
                }
                return null;
            }));
            if (failure == null) {
                break;
            }
        }
        assertThat(attempts[0]).isEqualTo(2);
        assertThat(name(dsl, 30L)).as("the change saved by the retried transaction").isEqualTo("Ann, renamed");
    }

    // Records of a rolled-back transaction saved again whole, a new row among them: TenthReviewTest's
    // DEFECT__saving_again_after_the_outer_transaction_rolled_back_does_not_bring_the_rows_back (the finding).

    /** A savepoint (a transaction inside a transaction) rolled back alone: its records are saved again by the outer. */
    @Test
    void records_of_a_rolled_back_savepoint_are_saved_again_by_the_enclosing_transaction(AsyncSession async,
            DSLContext dsl) throws Exception {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(32L, "Cy").execute();
        UsersRecord cy = dsl.selectFrom(USERS).where(USERS.ID.eq(32L)).fetchOne();
        cy.setName("Cy, renamed");
        async.transaction(tx -> {
            Throwable inner = catchThrowable(() -> tx.transaction(inside -> {
                inside.save(cy);
                throw new IllegalStateException("the savepoint rolls back");
            }));
            assertThat(inner).hasMessage("the savepoint rolls back");
            assertThat(name(tx.dsl(), 32L)).isEqualTo("Cy");
            tx.save(cy);
            return null;
        }).toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(name(dsl, 32L)).isEqualTo("Cy, renamed");
    }

    /** What the application set after a save that its transaction then rolled back is kept, and saved next time. */
    @Test
    void a_change_made_after_the_save_of_a_rolled_back_transaction_is_kept_and_saved(Session session,
            DSLContext dsl) {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(33L, "Dot").execute();
        UsersRecord dot = dsl.selectFrom(USERS).where(USERS.ID.eq(33L)).fetchOne();
        dot.setName("Dot, renamed");
        catchThrowable(() -> session.transaction(tx -> {
            tx.save(dot);
            dot.setEmail("dot@x");
            throw new IllegalStateException("roll back");
        }));
        assertThat(dot.getName()).isEqualTo("Dot, renamed");
        assertThat(dot.getEmail()).isEqualTo("dot@x");

        session.save(dot);

        assertThat(dsl.select(USERS.NAME, USERS.EMAIL).from(USERS).where(USERS.ID.eq(33L)).fetchOne().intoArray())
                .containsExactly("Dot, renamed", "dot@x");
    }

    /** A committed transaction's saves are final: the records stay refreshed, and saving them again writes nothing new. */
    @Test
    void records_of_a_committed_transaction_stay_refreshed(Session session, DSLContext dsl) {
        UsersRecord eve = user(dsl, 34L, "Eve");
        session.transaction(tx -> tx.save(eve));
        assertThat(eve.changed()).isFalse();
        assertThat(eve.original(USERS.NAME)).isEqualTo("Eve");
        dsl.update(USERS).set(USERS.NAME, "Eve, elsewhere").where(USERS.ID.eq(34L)).execute();
        session.save(eve);
        assertThat(name(dsl, 34L)).as("an unchanged saved record writes only its key").isEqualTo("Eve, elsewhere");
    }
}
