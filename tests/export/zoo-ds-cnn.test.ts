// ds-cnn (strided stem conv, depthwise-separable blocks with ReLU6, global average pool, dense): every
// format after a short real QAT on MNIST.
import { describeZooRoundTrip } from './support/roundTrip.js';

describeZooRoundTrip('ds-cnn', { minAccuracy: 0.7, fusedOps: ['com.microsoft.QLinearConv', 'com.microsoft.QLinearGlobalAveragePool', 'com.microsoft.QGemm'] });
