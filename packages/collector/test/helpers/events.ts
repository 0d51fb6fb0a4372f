/** Event fixtures shared by the collector suites: valid events of each type, about 400 bytes as JSON. */
import { newId, type CorrectionEvent, type ErrorEvent, type Event, type PredictionEvent } from '@edgeloop/protocol';

const HASH = 'a'.repeat(64);

/** A valid low-confidence prediction; `over` replaces fields. */
export function prediction(over: Partial<PredictionEvent> = {}): PredictionEvent {
  return {
    id: newId(),
    model: 'digits',
    version: 'v1',
    deviceId: 'device-1',
    ts: Date.now(),
    type: 'prediction',
    reason: 'low_confidence',
    inputHash: HASH,
    output: {
      label: '7',
      confidence: 0.41,
      topK: [
        { label: '7', p: 0.41 },
        { label: '1', p: 0.33 },
        { label: '9', p: 0.12 },
      ],
    },
    engine: 'ort-wasm',
    latencyMs: 3.2,
    ...over,
  };
}

/** A valid correction of `predictionId`. */
export function correction(predictionId: string, label: string, over: Partial<CorrectionEvent> = {}): CorrectionEvent {
  return {
    id: newId(),
    model: 'digits',
    version: 'v1',
    deviceId: 'device-1',
    ts: Date.now(),
    type: 'correction',
    predictionId,
    label,
    ...over,
  };
}

/** A valid error event. */
export function errorEvent(over: Partial<ErrorEvent> = {}): ErrorEvent {
  return {
    id: newId(),
    model: 'digits',
    version: 'v1',
    deviceId: 'device-1',
    ts: Date.now(),
    type: 'error',
    code: 'E_TEST',
    message: 'test',
    ...over,
  };
}

/** `n` valid predictions from `deviceId`. */
export function predictions(n: number, over: Partial<PredictionEvent> = {}): Event[] {
  return Array.from({ length: n }, () => prediction(over));
}
