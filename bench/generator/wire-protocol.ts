/** The buzzcast wire protocols the generator speaks (bench option --protocol). */
export const WIRE_PROTOCOLS = ["v1", "v2"] as const;
export type WireProtocol = (typeof WIRE_PROTOCOLS)[number];
