import { runtimeConformance } from './conformance.case.ts';

runtimeConformance('python');
