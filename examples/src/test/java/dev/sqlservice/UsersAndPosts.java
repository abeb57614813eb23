package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.USERS;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import java.time.OffsetDateTime;
import org.jooq.InsertValuesStep5;

/** The users and posts the prepared-query tests start from: one home for those rows. */
final class UsersAndPosts {

    /** Inserts Ann, Bob (no email) and Cid, created at {@code t0}, an hour later and two hours later. */
    static void users(Database db, OffsetDateTime t0) {
        db.dsl().insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT)
                .values(1L, "Ann", "ann@example.com", t0)
                .values(2L, "Bob", null, t0.plusHours(1))
                .values(3L, "Cid", "cid@example.com", t0.plusHours(2)).execute();
    }

    /**
     * Inserts the first {@code count} (1 to 3) of: Ann's published "one", Ann's draft "two" (no body), Bob's
     * published "three". The users must exist.
     */
    static void posts(Database db, int count) {
        if (count < 1 || count > 3) {
            throw new IllegalArgumentException("count must be 1 to 3, got " + count);
        }
        InsertValuesStep5<PostsRecord, Long, Long, String, String, PostStatus> insert = db.dsl()
                .insertInto(POSTS, POSTS.ID, POSTS.USER_ID, POSTS.TITLE, POSTS.BODY, POSTS.STATUS)
                .values(1L, 1L, "one", "b1", PostStatus.published);
        if (count > 1) {
            insert = insert.values(2L, 1L, "two", null, PostStatus.draft);
        }
        if (count > 2) {
            insert = insert.values(3L, 2L, "three", "b3", PostStatus.published);
        }
        insert.execute();
    }

    private UsersAndPosts() {}
}
