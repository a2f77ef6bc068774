// cnn (Conv+BN+ReLU ×2, max-pools, flatten, dense): every format after a short real QAT on MNIST.
import { describeZooRoundTrip } from './support/roundTrip.js';

// Issue 5's size bar: the int8 file at least 3.5× smaller than the float one (width 1: 16/32 filters).
describeZooRoundTrip('cnn', { minAccuracy: 0.9, fusedOps: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'], minSizeRatio: 3.5 });
