package dev.sqlservice.demo;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.POST_TAGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.jooq.impl.DSL.selectFrom;

import dev.sqlservice.AsyncSession;
import dev.sqlservice.Database;
import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostTagsRecord;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.jooq.JSONB;
import org.jooq.UpdatableRecord;

/**
 * A guided tour of sqlservice on an embedded PostgreSQL 18: {@code ./mvnw -q -Pdemo}.
 */
public final class Demo {

    public static void main(String[] args) throws Exception {
        try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().start();
                Database db = Database.builder()
                        .url(postgres.getJdbcUrl("postgres", "postgres"))
                        .migrate("filesystem:db/migration/{vendor}")
                        .build()) {
            tour(db.session());
        }
    }

    private static void tour(AsyncSession session) {
        step("save: a new user (no id: the identity column assigns it; created_at comes from its default)");
        UsersRecord ada = new UsersRecord();
        ada.setName("Ada");
        ada.setEmail("ada@example.com");
        UsersRecord saved = await(session.save(ada));
        System.out.println("same instance: " + (saved == ada) + ", id = " + ada.getId() + ", created_at = " + ada.getCreatedAt());

        step("saveAll: a new user, that user's post and tags in one call, children listed first");
        UsersRecord max = new UsersRecord();
        max.setId(100L);
        max.setName("Max");
        PostsRecord post = new PostsRecord();
        post.setId(1000L);
        post.setUserId(100L);
        post.setTitle("Hello, sqlservice");
        post.setMetadata(JSONB.valueOf("{\"lang\": \"en\"}"));
        PostTagsRecord tag = new PostTagsRecord(1000L, "intro");
        List<UpdatableRecord<?>> written = await(session.saveAll(List.of(tag, post, max)));
        System.out.println("returned " + written.size() + " records; post status (default) = " + post.getStatus()
                + ", updated_at = " + post.getUpdatedAt());

        step("saveAll: existing records change only what was set (a PATCH): the post's user_id is kept");
        PostsRecord retitle = new PostsRecord();
        retitle.setId(1000L);
        retitle.setTitle("Hello again");
        retitle.setStatus(PostStatus.published);
        UsersRecord rename = new UsersRecord();
        rename.setId(ada.getId());
        rename.setName("Ada Lovelace");
        await(session.saveAll(List.of(retitle, rename)));
        System.out.println("post " + retitle.getId() + ": user_id = " + retitle.getUserId() + ", title = "
                + retitle.getTitle() + ", status = " + retitle.getStatus() + " (updated_at set by the trigger: "
                + retitle.getUpdatedAt() + ")");

        step("all: a typed query returns generated records");
        System.out.println(await(session.all(selectFrom(USERS).orderBy(USERS.ID))).format());

        step("first / one / oneOrNone");
        System.out.println("first user by name: " + await(session.first(selectFrom(USERS).orderBy(USERS.NAME)))
                .map(UsersRecord::getName).orElse("none"));
        System.out.println("one post by id: " + await(session.one(selectFrom(POSTS).where(POSTS.ID.eq(1000L)))).getTitle());
        System.out.println("oneOrNone user 42: " + await(session.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(42L)))));

        step("raw SQL with :named parameters (bound, never spliced; a collection expands; ::casts untouched)");
        System.out.println(await(session.all("""
                select u.name, count(p.id) as posts, :since::date as since
                from users u left join posts p on p.user_id = u.id
                where u.id in (:ids) or u.name = :name
                group by u.name order by u.name
                """, Map.of("ids", List.of(100L, 101L), "name", "Ada Lovelace", "since", "2026-01-01"))).format());

        step("one() on two rows fails with jOOQ's TooManyRowsException");
        try {
            await(session.one(selectFrom(USERS)));
        } catch (CompletionException e) {
            System.out.println("failed as expected: " + e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage());
        }

        step("a transaction that throws is rolled back");
        try {
            await(session.transaction(tx -> {
                tx.execute("delete from post_tags");
                tx.execute("delete from posts");
                throw new IllegalStateException("changed my mind");
            }));
        } catch (CompletionException e) {
            System.out.println("failed as expected: " + e.getCause().getMessage() + "; posts still there: "
                    + await(session.all(selectFrom(POSTS))).size() + ", tags: " + await(session.all(selectFrom(POST_TAGS))).size());
        }

        step("a saveAll that fails writes nothing and leaves the records as they were");
        UsersRecord dup = new UsersRecord();
        dup.setId(7L);
        dup.setName("Impostor");
        dup.setEmail("ada@example.com");
        try {
            await(session.saveAll(List.of(dup)));
        } catch (CompletionException e) {
            System.out.println("failed as expected (SQLState " + ((org.jooq.exception.DataAccessException) e.getCause()).sqlState()
                    + "); user 7 exists: " + await(session.oneOrNone(selectFrom(USERS).where(USERS.ID.eq(7L)))).isPresent()
                    + "; record still changed: " + dup.touched());
        }
    }

    private static <T> T await(CompletionStage<T> stage) {
        return stage.toCompletableFuture().join();
    }

    private static void step(String title) {
        System.out.println();
        System.out.println("== " + title);
    }

    private Demo() {}
}
