/**
 * Synchronous data-parallel training on Apache Spark 3.5: the driver broadcasts the weights, every
 * partition of an RDD of {@link org.attn4j.spark.Example}s computes on its shard, Spark's
 * {@code treeAggregate} sums the results, and the driver applies the update with the same
 * {@link org.attn4j.train.Trainer} that trains on one machine. Spark is a {@code provided}
 * dependency: nothing outside this package needs it.
 */
package org.attn4j.spark;
