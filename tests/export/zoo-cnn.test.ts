// cnn (Conv+BN+ReLU ×2, max-pools, flatten, dense): every format after a short real QAT on MNIST.
import { describeZooRoundTrip } from './support/roundTrip.js';

describeZooRoundTrip('cnn', { minAccuracy: 0.9, fusedOps: ['com.microsoft.QLinearConv', 'com.microsoft.QGemm'] });
