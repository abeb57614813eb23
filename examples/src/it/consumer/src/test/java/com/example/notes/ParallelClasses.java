package com.example.notes;

import java.util.concurrent.CyclicBarrier;

/** Where the two ParallelAuthors classes meet: both must be running at once, or the barrier times out. */
final class ParallelClasses {

    static final CyclicBarrier BOTH_WROTE = new CyclicBarrier(2);

    private ParallelClasses() {}
}
