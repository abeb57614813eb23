package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Waiting for the stages of asynchronous calls in tests: 30 seconds at most, never forever. */
final class Stages {

    static final Duration WAIT = Duration.ofSeconds(30);

    /** The stage's value. */
    static <T> T join(CompletionStage<T> stage) {
        return stage.toCompletableFuture().orTimeout(WAIT.toSeconds(), TimeUnit.SECONDS).join();
    }

    /** What the stage failed with (the cause a {@code get()} reports). */
    static Throwable failure(CompletionStage<?> stage) {
        assertThat(stage).failsWithin(WAIT);
        try {
            stage.toCompletableFuture().get();
            throw new AssertionError("stage succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private Stages() {}
}
