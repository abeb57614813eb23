package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.POST_TAGS;
import static dev.sqlservice.example.schema.Tables.PRICES;
import static dev.sqlservice.example.schema.Tables.READINGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.example.schema.Keys;
import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostTagsRecord;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.PricesRecord;
import dev.sqlservice.example.schema.tables.records.ReadingsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.UpdatableRecord;
import org.jooq.conf.Settings;
import org.jooq.conf.SettingsTools;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

/**
 * Review of the tenth session's diff (868ec43..0ec6646): save/saveAll set jOOQ's "fetched" mark on the records they
 * refresh; HeldConnection replaces the copies of GateReviewTest and FinalReviewTest.
 *
 * <p>The fetched mark is observed through jOOQ's public behaviour: under {@code updatablePrimaryKeys}, jOOQ's
 * {@code store()} updates (by the original key) a record whose mark is set and inserts one whose mark is not.
 */
@ExampleDatabase
class TenthReviewTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** {@code dsl} with jOOQ's updatablePrimaryKeys on (everything else as the database's settings say). */
    private static DSLContext updatable(DSLContext dsl) {
        Settings settings = SettingsTools.clone(dsl.configuration().settings()).withUpdatablePrimaryKeys(true);
        return dsl.configuration().derive(settings).dsl();
    }

    /** {@code dsl} with jOOQ's optimistic locking on: store()/delete() first compare the originals with the row. */
    private static DSLContext optimistic(DSLContext dsl) {
        Settings settings = SettingsTools.clone(dsl.configuration().settings()).withExecuteWithOptimisticLocking(true);
        return dsl.configuration().derive(settings).dsl();
    }

    private static <T> T join(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    private static String name(DSLContext dsl, Long id) {
        return dsl.select(USERS.NAME).from(USERS).where(USERS.ID.eq(id)).fetchOne(USERS.NAME);
    }

    private static String title(DSLContext dsl, Long id) {
        return dsl.select(POSTS.TITLE).from(POSTS).where(POSTS.ID.eq(id)).fetchOne(POSTS.TITLE);
    }

    private static List<Long> userIds(DSLContext dsl) {
        return dsl.select(USERS.ID).from(USERS).orderBy(USERS.ID).fetch(USERS.ID);
    }

    // ---------------------------------------------------------------------------------------------------------
    // A failed saveAll leaves every record as it was, the fetched mark included
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A saveAll that fails (here on its post, whose user does not exist: a foreign-key violation) must leave its
     * records as they were, and now also their fetched mark: a new record stays "not stored" (store() inserts it
     * under updatablePrimaryKeys), a fetched one stays fetched (store() updates it by its original key).
     */
    @Test
    void CHECKED__a_failed_saveAll_leaves_the_fetched_mark_of_every_record_as_it_was(Session session, DSLContext dsl) {
        DSLContext u = updatable(dsl);
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(1L, "Ann").execute();
        UsersRecord fresh = SavedRecordStateTest.user(u, 40L, "fresh");
        UsersRecord fetched = u.fetchOne(USERS, USERS.ID.eq(1L));
        fetched.setName("Ann, renamed");
        PostsRecord orphan = u.newRecord(POSTS);
        orphan.setUserId(999L);
        orphan.setTitle("orphan");

        Throwable failure = catchThrowable(() -> session.saveAll(List.<UpdatableRecord<?>>of(fresh, fetched, orphan)));
        assertThat(failure).isInstanceOf(DataAccessException.class);

        assertThat(fresh.touched()).isTrue();
        assertThat(fresh.original(USERS.ID)).isNull();
        assertThat(fetched.original(USERS.NAME)).isEqualTo("Ann");
        assertThat(fetched.touched(USERS.NAME)).isTrue();
        assertThat(orphan.getId()).isNull();
        assertThat(userIds(dsl)).containsExactly(1L);

        assertThat(fresh.store()).as("store() of the new record after the failed saveAll: an insert").isEqualTo(1);
        assertThat(fetched.store()).as("store() of the fetched record: an update of its row").isEqualTo(1);
        assertThat(userIds(dsl)).containsExactly(1L, 40L);
        assertThat(name(dsl, (1L))).isEqualTo("Ann, renamed");
    }

    // ---------------------------------------------------------------------------------------------------------
    // A saveAll nested in a transaction that later rolls back
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A record saved inside transaction work whose transaction then rolls back. As the reviewer wrote it, this test
     * pinned jOOQ's behaviour (a record jOOQ's store() inserted in a rolled-back transaction keeps its fetched mark
     * and unchanged flags, so its next store() updates no row, silently). The reviewer's DEFECT below showed where
     * that leads with save(): a retried transaction loses its writes. Decided (tenth session): a saveAll nested in
     * a transaction that rolls back puts its records' flags, originals and fetched mark back (README), so the
     * saved record's next store() inserts its row again where jOOQ's own stored record still updates nothing.
     * The assertions now say that difference; everything else is the reviewer's.
     */
    @Test
    void CHECKED__after_an_outer_rollback_a_saved_record_behaves_as_one_jooq_stored_in_it(Session session,
            DSLContext dsl) {
        DSLContext u = updatable(dsl);
        UsersRecord saved = SavedRecordStateTest.user(u, 50L, "saved");
        UsersRecord stored = SavedRecordStateTest.user(u, 51L, "stored by jOOQ");
        UsersRecord savedDefault = SavedRecordStateTest.user(dsl, 52L, "saved, default settings");
        UsersRecord storedDefault = SavedRecordStateTest.user(dsl, 53L, "stored by jOOQ, default settings");
        Throwable rolledBack = catchThrowable(() -> session.transaction(tx -> {
            tx.saveAll(List.of(saved, savedDefault));
            assertThat(stored.store()).isEqualTo(1);
            assertThat(storedDefault.store()).isEqualTo(1);
            throw new IllegalStateException("roll back");
        }));
        assertThat(rolledBack).hasMessage("roll back");
        assertThat(userIds(dsl)).as("everything rolled back, jOOQ's store() inside the work included").isEmpty();

        saved.setName("saved again");
        stored.setName("stored again");
        savedDefault.setName("saved again");
        storedDefault.setName("stored again");
        int savedResult = saved.store();
        int storedResult = stored.store();
        int savedDefaultResult = savedDefault.store();
        int storedDefaultResult = storedDefault.store();
        assertThat(storedResult).as("jOOQ: its stored record updates no row after the rollback").isZero();
        assertThat(storedDefaultResult).isZero();
        assertThat(savedResult).as("updatablePrimaryKeys: the saved record is new again, and inserted").isEqualTo(1);
        assertThat(savedDefaultResult).as("default settings: the saved record is new again, and inserted").isEqualTo(1);
        assertThat(userIds(dsl)).containsExactly(50L, 52L);
        assertThat(dsl.select(USERS.NAME).from(USERS).orderBy(USERS.ID).fetch(USERS.NAME))
                .containsExactly("saved again", "saved again");
    }

    /** The same with generated keys, records of several tables, and the async API inside the work. */
    @Test
    void CHECKED__a_nested_async_saveAll_of_several_tables_whose_transaction_rolls_back_keeps_its_refresh(
            AsyncSession async, DSLContext dsl) throws Exception {
        DSLContext u = updatable(dsl);
        UsersRecord user = SavedRecordStateTest.user(u, 60L, "Ann");
        PostsRecord post = u.newRecord(POSTS);
        post.setUserId(60L);
        post.setTitle("hello");
        Throwable rolledBack = catchThrowable(() -> join(async.transaction(tx -> {
            tx.saveAll(List.<UpdatableRecord<?>>of(post, user));
            assertThat(post.getId()).as("the generated key, at once").isNotNull();
            throw new IllegalStateException("roll back");
        })));
        assertThat(rolledBack).hasRootCauseMessage("roll back");
        assertThat(post.getId()).as("README: the records keep the refreshed values").isNotNull();
        // decided in the tenth session (see the test above): the flags the records had before the save are back
        assertThat(post.touched()).isTrue();
        assertThat(dsl.fetchCount(POSTS)).isZero();
        assertThat(dsl.fetchCount(USERS)).isZero();
        // saved again, both rows are written whole, the post under the key the rolled-back attempt generated
        post.setTitle("hello again");
        join(async.saveAll(List.<UpdatableRecord<?>>of(post, user)));
        assertThat(title(dsl, post.getId())).isEqualTo("hello again");
        assertThat(name(dsl, 60L)).isEqualTo("Ann");
    }

    /**
     * What is wrong: the README says of a saveAll nested in a transaction that later rolls back "those records keep
     * the refreshed values (the rows are gone): fetch or save them again". Saving them again does not work: the
     * refresh reset every changed flag (and, since this diff, set the fetched mark), so the second saveAll writes
     * only the key ("a record with only its key set is inserted if missing") and the insert of a row whose NOT NULL
     * columns (users.name, posts.title, posts.user_id) are not written fails (PostgreSQL 23502, MariaDB "no
     * default value"). jOOQ's own store() of the same records updates zero rows, silently.
     * Why it matters: the README's own recovery fails, and the records give no way to tell that they hold rows
     * that do not exist. What would be right: either the README says what works (touch every column again,
     * {@code record.changed(true)}, before saving; or re-create the records), or save/saveAll offer a way to make
     * such records whole again; with the README as it is, saving them again must bring the rows back.
     */
    @Test
    void DEFECT__saving_again_after_the_outer_transaction_rolled_back_does_not_bring_the_rows_back(Session session,
            DSLContext dsl) {
        UsersRecord user = SavedRecordStateTest.user(dsl, 61L, "Ann");
        PostsRecord post = dsl.newRecord(POSTS);
        post.setUserId(61L);
        post.setTitle("hello");
        Throwable rolledBack = catchThrowable(() -> session.transaction(tx -> {
            tx.saveAll(List.<UpdatableRecord<?>>of(user, post));
            throw new IllegalStateException("roll back");
        }));
        assertThat(rolledBack).hasMessage("roll back");
        assertThat(dsl.fetchCount(USERS)).isZero();

        // README: "fetch or save them again"
        Throwable again = catchThrowable(() -> session.saveAll(List.<UpdatableRecord<?>>of(user, post)));
        assertThat(again).as("saving the records again, as the README says").isNull();
        assertThat(name(dsl, (61L))).isEqualTo("Ann");
        assertThat(title(dsl, (post.getId()))).isEqualTo("hello");
    }

    // ---------------------------------------------------------------------------------------------------------
    // A saved record holds the row as stored: equals, original(), optimistic locking
    // ---------------------------------------------------------------------------------------------------------

    /**
     * A saved record is the row as stored: equal to the record jOOQ fetches (values and originals), and jOOQ's
     * optimistic locking (which compares every original with the row, SELECT … FOR UPDATE) accepts its store(),
     * also after a second save whose update fired the updated_at trigger (PostgreSQL) / ON UPDATE (MariaDB).
     */
    @Test
    void CHECKED__a_saved_record_equals_the_fetched_row_and_passes_optimistic_locking(Session session,
            DSLContext dsl) {
        UsersRecord user = SavedRecordStateTest.user(dsl, 70L, "Ann");
        user.setEmail("ann@example.com");
        session.save(user);
        UsersRecord fetchedUser = dsl.fetchOne(USERS, USERS.ID.eq(70L));
        assertThat(user.intoMap()).isEqualTo(fetchedUser.intoMap());
        assertThat(user.original().intoMap()).isEqualTo(fetchedUser.intoMap());
        assertThat(user).isEqualTo(fetchedUser);

        PostsRecord post = dsl.newRecord(POSTS);
        post.setUserId(70L);
        post.setTitle("first");
        post.setMetadata(JSONB.valueOf("{\"b\": 1, \"a\": [1, 2]}"));
        post.setStatus(PostStatus.published);
        session.save(post);
        post.setTitle("second");
        session.save(post);
        PostsRecord fetchedPost = dsl.fetchOne(POSTS, POSTS.ID.eq(post.getId()));
        assertThat(post.intoMap()).isEqualTo(fetchedPost.intoMap());
        assertThat(post).isEqualTo(fetchedPost);
        post.setTitle("second");
        session.save(post);
        assertThat(post.intoMap()).as("saved again with the same title").isEqualTo(
                dsl.fetchOne(POSTS, POSTS.ID.eq(post.getId())).intoMap());

        // a PATCH of an existing row: the columns the record did not set are the row's after the save
        dsl.insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL).values(71L, "Bob", "bob@example.com").execute();
        UsersRecord patch = session.save(SavedRecordStateTest.user(dsl, 71L, "Bob, patched"));
        assertThat(patch.intoMap()).isEqualTo(dsl.fetchOne(USERS, USERS.ID.eq(71L)).intoMap());
        assertThat(patch.original().intoMap()).isEqualTo(patch.intoMap());

        DSLContext locking = optimistic(dsl);
        locking.attach(user);
        locking.attach(post);
        locking.attach(patch);
        patch.setName("Bob, locked");
        assertThat(patch.store()).as("optimistic store() of a patched user").isEqualTo(1);
        user.setName("Ann, locked");
        assertThat(user.store()).as("optimistic store() of a saved user").isEqualTo(1);
        post.setTitle("third");
        assertThat(post.store()).as("optimistic store() of a saved post").isEqualTo(1);
        assertThat(title(dsl, (post.getId()))).isEqualTo("third");
    }

    /**
     * Many saves of one shape on a connection (on PostgreSQL, pgjdbc prepares the statement on the server from its
     * fifth run and then sends timestamptz in binary, which the refresh reads by its own path): every saved record
     * still equals the row jOOQ fetches, offsets included, so its originals are what optimistic locking compares.
     */
    @Test
    void CHECKED__every_one_of_many_saves_of_one_shape_equals_the_row_jooq_fetches(Session session, DSLContext dsl) {
        for (long id = 200; id < 212; id++) {
            UsersRecord saved = session.save(SavedRecordStateTest.user(dsl, id, "user " + id));
            UsersRecord fetched = dsl.fetchOne(USERS, USERS.ID.eq(id));
            assertThat(saved.intoMap()).as("save #%d", id - 199).isEqualTo(fetched.intoMap());
            assertThat(saved.getCreatedAt().getOffset()).isEqualTo(fetched.getCreatedAt().getOffset());
        }
        List<UsersRecord> all = session.saveAll(List.of(SavedRecordStateTest.user(dsl, 300L, "a"), SavedRecordStateTest.user(dsl, 301L, "b"), SavedRecordStateTest.user(dsl, null, "c")));
        for (UsersRecord saved : all) {
            assertThat(saved.intoMap()).isEqualTo(dsl.fetchOne(USERS, USERS.ID.eq(saved.getId())).intoMap());
        }
    }

    /**
     * Keys the database stores differently from what was sent (a timestamp beyond microseconds in another offset,
     * a numeric with more digits than its scale): the saved record holds the stored key as its original, so a
     * store() with a changed key under updatablePrimaryKeys finds and moves its row.
     */
    @Test
    void CHECKED__keys_stored_differently_from_what_was_sent_are_the_originals_store_uses(Session session,
            DSLContext dsl) {
        DSLContext u = updatable(dsl);
        ReadingsRecord reading = u.newRecord(READINGS);
        reading.setTakenAt(OffsetDateTime.of(2024, 5, 6, 12, 0, 0, 123_456_789, ZoneOffset.ofHours(2)));
        reading.setNote("sent");
        PricesRecord price = u.newRecord(PRICES);
        price.setAmount(new BigDecimal("1.004"));
        price.setLabel("sent");
        session.saveAll(List.<UpdatableRecord<?>>of(reading, price));

        OffsetDateTime moved = OffsetDateTime.of(2024, 5, 6, 13, 0, 0, 0, ZoneOffset.UTC);
        reading.setTakenAt(moved);
        assertThat(reading.store()).as("store() of a saved reading whose key changed").isEqualTo(1);
        assertThat(dsl.fetchCount(READINGS)).isEqualTo(1);
        assertThat(dsl.select(READINGS.TAKEN_AT).from(READINGS).fetchOne(READINGS.TAKEN_AT).toInstant()).isEqualTo(moved.toInstant());

        price.setAmount(new BigDecimal("2.00"));
        assertThat(price.store()).as("store() of a saved price whose key changed").isEqualTo(1);
        assertThat(dsl.select(PRICES.AMOUNT).from(PRICES).fetch(PRICES.AMOUNT).stream().map(BigDecimal::stripTrailingZeros)
                .toList()).containsExactly(new BigDecimal("2"));
    }

    // ---------------------------------------------------------------------------------------------------------
    // jOOQ's operations on saved records, against the same operations on records jOOQ stored
    // ---------------------------------------------------------------------------------------------------------

    /**
     * refresh(), original(), merge(), copy(), into(Table) with a changed key, delete() then store(): a saved record and a
     * record jOOQ's store() inserted (under updatablePrimaryKeys) give the same results, step by step.
     */
    @Test
    void CHECKED__refresh_original_copy_into_delete_of_a_saved_record_behave_as_for_a_jooq_stored_one(
            Session session, DSLContext dsl) {
        DSLContext u = updatable(dsl);
        UsersRecord saved = session.save(SavedRecordStateTest.user(u, 80L, "saved"));
        UsersRecord stored = SavedRecordStateTest.user(u, 81L, "stored");
        assertThat(stored.store()).isEqualTo(1);

        for (UsersRecord r : List.of(saved, stored)) {
            dsl.update(USERS).set(USERS.NAME, r.getName() + " (changed behind)").where(USERS.ID.eq(r.getId())).execute();
            r.refresh();
            assertThat(r.getName()).endsWith("(changed behind)");
            assertThat(r.touched()).isFalse();
            assertThat(r.original()).isEqualTo(r);
        }

        assertThat(saved.copy().store()).as("copy().store() of the saved record").isEqualTo(stored.copy().store());
        assertThat(dsl.fetchCount(USERS)).as("copy().store(): a new row each").isEqualTo(4);

        UsersRecord savedInto = saved.into(USERS);
        UsersRecord storedInto = stored.into(USERS);
        savedInto.setId(90L);
        storedInto.setId(91L);
        assertThat(savedInto.store()).as("into(USERS), key changed, store()").isEqualTo(storedInto.store());
        List<Long> ids = userIds(dsl);
        assertThat(ids.contains(80L)).isEqualTo(ids.contains(81L));
        assertThat(ids.contains(90L)).isEqualTo(ids.contains(91L));

        assertThat(saved.delete()).as("delete()").isEqualTo(stored.delete());
        assertThat(saved.store()).as("store() after delete()").isEqualTo(stored.store());
        ids = userIds(dsl);
        assertThat(ids.contains(80L)).isEqualTo(ids.contains(81L));
        assertThat(ids.size() % 2).isZero();

        saved.setName("saved, merged");
        stored.setName("stored, merged");
        assertThat(saved.merge()).as("merge()").isEqualTo(stored.merge());
        assertThat("saved, merged".equals(name(dsl, saved.getId())))
                .isEqualTo("stored, merged".equals(name(dsl, stored.getId())));
        assertThat(dsl.fetchCount(USERS) % 2).isZero();
    }

    /** batchStore of saved records updates their rows (and, under updatablePrimaryKeys, moves a changed key). */
    @Test
    void CHECKED__batchStore_of_saved_records_updates_their_rows(AsyncSession async, DSLContext dsl) throws Exception {
        DSLContext u = updatable(dsl);
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(100L, "existing").execute();
        List<UsersRecord> saved = join(async.saveAll(List.of(SavedRecordStateTest.user(u, 100L, "updated"), SavedRecordStateTest.user(u, 101L, "new"),
                SavedRecordStateTest.user(u, 102L, "new too"))));
        for (UsersRecord r : saved) {
            r.setName(r.getName() + " (batch)");
        }
        saved.get(2).setId(103L);
        u.batchStore(saved).execute();
        assertThat(userIds(dsl)).containsExactly(100L, 101L, 103L);
        assertThat(dsl.select(USERS.NAME).from(USERS).orderBy(USERS.ID).fetch(USERS.NAME))
                .containsExactly("updated (batch)", "new (batch)", "new too (batch)");

        // default settings: batchStore updates every one of them
        List<UsersRecord> plain = join(async.saveAll(List.of(SavedRecordStateTest.user(dsl, 110L, "a"), SavedRecordStateTest.user(dsl, 111L, "b"))));
        for (UsersRecord r : plain) {
            r.setName(r.getName() + "!");
        }
        dsl.batchStore(plain).execute();
        assertThat(dsl.fetchCount(USERS)).isEqualTo(5);
        assertThat(name(dsl, (111L))).isEqualTo("b!");
    }

    /**
     * Records of several tables, one with a composite key, saved in one call (async): each one's store() updates
     * its row, a changed part of the composite key moves the row under updatablePrimaryKeys, and fetchParent /
     * fetchChildren find the stored rows.
     */
    @Test
    void CHECKED__records_of_several_tables_saved_together_store_and_navigate_their_keys(AsyncSession async,
            DSLContext dsl) throws Exception {
        DSLContext u = updatable(dsl);
        UsersRecord user = SavedRecordStateTest.user(u, null, "Ann");
        PostsRecord post = u.newRecord(POSTS);
        post.setId(120L);
        post.setTitle("p");
        join(async.save(user));
        post.setUserId(user.getId());
        PostTagsRecord tag = u.newRecord(POST_TAGS);
        tag.setPostId(120L);
        tag.setTag("java");
        join(async.saveAll(List.<UpdatableRecord<?>>of(tag, post)));

        tag.setTag("kotlin");
        assertThat(tag.store()).isEqualTo(1);
        assertThat(dsl.select(POST_TAGS.TAG).from(POST_TAGS).fetch(POST_TAGS.TAG)).containsExactly("kotlin");
        post.setTitle("p, stored");
        assertThat(post.store()).isEqualTo(1);
        user.setName("Ann, stored");
        assertThat(user.store()).isEqualTo(1);
        assertThat(dsl.fetchCount(POSTS)).isEqualTo(1);
        assertThat(dsl.fetchCount(USERS)).isEqualTo(1);

        assertThat(post.fetchParent(Keys.POSTS__POSTS_USER_ID_FKEY).getName()).isEqualTo("Ann, stored");
        assertThat(user.fetchChildren(Keys.POSTS__POSTS_USER_ID_FKEY).map(PostsRecord::getTitle))
                .containsExactly("p, stored");
        assertThat(tag.fetchParent(Keys.POST_TAGS__POST_TAGS_POST_ID_FKEY).getId()).isEqualTo(120L);
    }

    /**
     * A key the database matched to a stored row it finds equal (MariaDB's case-insensitive collation: 'JAVA'
     * reaches the stored 'java'; PostgreSQL inserts a row 'JAVA'): the saved record holds the key as stored, and
     * store() with a changed key under updatablePrimaryKeys moves that row instead of inserting one.
     */
    @Test
    void CHECKED__a_key_the_database_matched_by_its_collation_is_the_original_store_uses(Session session,
            DSLContext dsl) {
        DSLContext u = updatable(dsl);
        dsl.insertInto(USERS, USERS.ID, USERS.NAME).values(140L, "Ann").execute();
        dsl.insertInto(POSTS, POSTS.ID, POSTS.USER_ID, POSTS.TITLE).values(141L, 140L, "p").execute();
        dsl.insertInto(POST_TAGS, POST_TAGS.POST_ID, POST_TAGS.TAG).values(141L, "java").execute();
        PostTagsRecord tag = u.newRecord(POST_TAGS);
        tag.setPostId(141L);
        tag.setTag("JAVA");
        session.save(tag);
        List<String> afterSave = dsl.select(POST_TAGS.TAG).from(POST_TAGS).orderBy(POST_TAGS.TAG).fetch(POST_TAGS.TAG);
        assertThat(afterSave).contains(tag.getTag());

        String savedKey = tag.getTag();
        tag.setTag("kotlin");
        assertThat(tag.store()).isEqualTo(1);
        List<String> afterStore = dsl.select(POST_TAGS.TAG).from(POST_TAGS).orderBy(POST_TAGS.TAG).fetch(POST_TAGS.TAG);
        assertThat(afterStore).hasSameSizeAs(afterSave).contains("kotlin").doesNotContain(savedKey);
    }

    /**
     * A record saved three times (the third with a changed key: under default settings jOOQ then marks every field
     * changed, so save writes a copy), then stored with another key under updatablePrimaryKeys: the row it last
     * saved moves.
     */
    @Test
    void CHECKED__a_record_saved_twice_is_then_stored_as_the_row_it_last_saved(Session session, DSLContext dsl) {
        DSLContext u = updatable(dsl);
        UsersRecord r = SavedRecordStateTest.user(dsl, 130L, "one");
        session.save(r);
        r.setName("two");
        session.save(r);
        r.setId(131L);
        session.save(r);
        assertThat(userIds(dsl)).as("save upserts by key: a second row").containsExactly(130L, 131L);
        u.attach(r);
        r.setName("three");
        r.setId(132L);
        assertThat(r.store()).isEqualTo(1);
        assertThat(userIds(dsl)).as("store() moves the row the record last saved").containsExactly(130L, 132L);
        assertThat(name(dsl, (130L))).isEqualTo("two");
    }

    // ---------------------------------------------------------------------------------------------------------
    // FaultProxyTest now counts only its own clients' connections
    // ---------------------------------------------------------------------------------------------------------

    /**
     * What is wrong: FaultProxy.reset() says it "ends every current connection", but it only ends the links it has
     * registered: a connection whose TCP handshake is done (the client holds a connected socket) but that the
     * accept thread has not yet turned into a link (accept, a thread, the upstream connect) is missed, and lives
     * on after the reset, served as before. Why it matters: this diff explains the one failure of
     * reset_leaves_no_connection_open… (1 open after reset) by a stray connection of another test and makes the
     * test count only its own client's port, so it can no longer see a connection that survives a reset, which is
     * this race whatever client opened it; a fault test that resets while the pool is opening a connection gets a
     * connection that never saw the fault. What would be right: reset() also ends connections accepted (or being
     * linked) when it runs, e.g. a reset epoch checked in connect() after links.add, as it checks closed.
     */
    @Test
    void DEFECT__fault_proxy_reset_misses_a_connection_it_has_not_yet_linked(TestDatabase test) throws Exception {
        List<String> survived = new java.util.ArrayList<>();
        // the database server as the proxy's upstream (a raw TCP client: no driver, no startup message)
        try (FaultProxy proxy = new FaultProxy(FaultProxy.hostOf(test.url()), FaultProxy.portOf(test.url()))) {
            for (int i = 0; i < 40; i++) {
                try (java.net.Socket client = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), proxy.port())) {
                    proxy.reset();
                    Thread.sleep(50);
                    if (proxy.openConnectionsFrom(client.getLocalPort()) > 0) {
                        survived.add("iteration " + i + ": " + proxy.describeOpen());
                    }
                    proxy.reset();
                }
            }
        }
        assertThat(survived).as("client connections that were connected when reset() ran and are still open after it")
                .isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------
    // HeldConnection
    // ---------------------------------------------------------------------------------------------------------

    /** HeldConnection holds a poolSize(1) database's connection until close(): calls started meanwhile wait. */
    @Test
    void CHECKED__held_connection_holds_the_only_connection_until_closed(TestDatabase test) throws Exception {
        try (Database db = test.builder().poolSize(1).build()) {
            CompletionStage<Optional<UsersRecord>> waiting;
            try (HeldConnection held = HeldConnection.of(db)) {
                waiting = db.session().first(selectFrom(USERS));
                Thread.sleep(300);
                assertThat(waiting.toCompletableFuture().isDone()).as("a call while the connection is held").isFalse();
            }
            waiting.toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertThat(waiting.toCompletableFuture().isCompletedExceptionally()).isFalse();
        }
    }
}
