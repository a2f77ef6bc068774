// mlp (flatten, Dense+ReLU ×2, Dense): every format after a short real QAT on MNIST.
import { describeZooRoundTrip } from './support/roundTrip.js';

describeZooRoundTrip('mlp', { minAccuracy: 0.85, fusedOps: ['com.microsoft.QGemm'] });
