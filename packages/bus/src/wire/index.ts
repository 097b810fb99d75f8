// The D-Bus wire layer: marshalling, validation and framing. Public API of ipnbus/wire.
export { WireError } from './errors.js';
export { Variant } from './variant.js';
export { MessageType, MessageFlags, HeaderField, type Message, type Endian } from './message.js';
export {
  MAX_SIGNATURE_LENGTH, MAX_ARRAY_DEPTH, MAX_STRUCT_DEPTH, MAX_TOTAL_DEPTH,
  MAX_ARRAY_LENGTH, MAX_MESSAGE_LENGTH, MAX_NAME_LENGTH, PROTOCOL_VERSION,
} from './limits.js';
export { parseSignature, parseSingleType, isValidSignature, validateSignature, type SignatureNode } from './signature.js';
export {
  isValidObjectPath, isValidInterfaceName, isValidMemberName, isValidBusName, isValidUniqueName, isValidErrorName,
  validateObjectPath, validateInterfaceName, validateMemberName, validateBusName, validateErrorName,
} from './names.js';
export { marshal, unmarshal, type BodyOptions, type UnmarshalOptions } from './body.js';
export { encodeMessage } from './encode-message.js';
export { decodeMessage, decodeMessageAt, type DecodeOptions } from './decode-message.js';
export { messageByteLength, FIXED_HEADER_LENGTH } from './frame-length.js';
export { FrameReader, type FrameReaderOptions } from './frame-reader.js';
