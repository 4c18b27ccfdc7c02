import { Log } from 'node-av';
import { AV_LOG_ERROR } from 'node-av/constants';

// FFmpeg's encoders log at info level on stderr; tests want only errors.
Log.setLevel(AV_LOG_ERROR);
// SVT-AV1 prints its banner and settings itself, past FFmpeg's log: errors only.
process.env.SVT_LOG ??= '1';
