// What a model is trained to do, which fixes its loss and its metric.

/** classification: integer labels, logits out, softmax cross-entropy, accuracy.
 *  regression: real targets, mean squared error, mean absolute error. */
export type Task = 'classification' | 'regression';
