// What prepareQat does, with the defaults of the int8 deployment spec (DESIGN.md §3): 8-bit weights,
// symmetric per output channel for convolutions; 8-bit activations on an EMA (decay 0.999) range.
// 'lsq' (either quantizer) learns the step sizes instead (Esser et al. 2019; qat/layers/lsqActivation.ts).

export type WeightQuantizer = 'minmax' | 'lsq';
export type ActivationQuantizer = 'ema' | 'minmax' | 'lsq';

export interface LayerOverride {
  /** Leave this layer in float (mixed precision); its output is re-quantized for the next layer. */
  float?: boolean;
  weightBits?: number;
  activationBits?: number;
  perChannel?: boolean;
}

export interface QatConfig {
  weightBits: number;
  activationBits: number;
  /** Per output channel weights for Conv2D / DepthwiseConv2D / SeparableConv2D (Dense is per-tensor unless set). */
  perChannel: boolean;
  /** Per-channel weights for Dense too. */
  perChannelDense: boolean;
  weightQuantizer: WeightQuantizer;
  activationQuantizer: ActivationQuantizer;
  emaDecay: number;
  /** Fold BatchNormalization into the preceding Conv/Dense (Jacob et al. 2018, §3.2). */
  foldBatchNorm: boolean;
  /** Keep unsupported layers in float instead of refusing the model. */
  allowFloatFallback: boolean;
  /** Per-layer overrides by the original layer's name. */
  layers: Record<string, LayerOverride>;
}

export const DEFAULT_QAT_CONFIG: Readonly<QatConfig> = Object.freeze({
  weightBits: 8,
  activationBits: 8,
  perChannel: true,
  perChannelDense: false,
  weightQuantizer: 'minmax',
  activationQuantizer: 'ema',
  emaDecay: 0.999,
  foldBatchNorm: true,
  allowFloatFallback: false,
  layers: {},
});

export interface ConfigIssue {
  field: string;
  reason: string;
}

/** Fills defaults and reports every invalid field, so a caller can reject a job with all reasons at once. */
export function resolveQatConfig(partial: Partial<QatConfig> = {}): { config: QatConfig; issues: ConfigIssue[] } {
  const config: QatConfig = { ...DEFAULT_QAT_CONFIG, ...partial, layers: { ...(partial.layers ?? {}) } };
  const issues: ConfigIssue[] = [];
  const bits = (field: string, v: number | undefined, allowed: (b: number) => boolean, what: string) => {
    if (v !== undefined && (!Number.isInteger(v) || !allowed(v))) issues.push({ field, reason: `must be ${what}, got ${v}` });
  };
  const weightBits = (b: number) => b >= 2 && b <= 8;
  const activationBits = (b: number) => b === 8 || b === 16;
  bits('weight_bits', config.weightBits, weightBits, 'an integer from 2 to 8');
  bits('activation_bits', config.activationBits, activationBits, '8 or 16');
  if (!(config.emaDecay > 0 && config.emaDecay < 1)) issues.push({ field: 'ema_decay', reason: `must be in (0, 1), got ${config.emaDecay}` });
  if (!['minmax', 'lsq'].includes(config.weightQuantizer)) {
    issues.push({ field: 'weight_quantizer', reason: `must be minmax or lsq, got ${config.weightQuantizer}` });
  }
  if (!['ema', 'minmax', 'lsq'].includes(config.activationQuantizer)) {
    issues.push({ field: 'activation_quantizer', reason: `must be ema, minmax or lsq, got ${config.activationQuantizer}` });
  }
  for (const [name, o] of Object.entries(config.layers)) {
    bits(`layers.${name}.weight_bits`, o.weightBits, weightBits, 'an integer from 2 to 8');
    bits(`layers.${name}.activation_bits`, o.activationBits, activationBits, '8 or 16');
  }
  return { config, issues };
}
