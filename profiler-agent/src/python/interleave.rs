//! Where Python frames go in a native stack.
//!
//! Each native call of the interpreter's eval loop
//! (`_PyEval_EvalFrameDefault`) runs a run of Python frames that ends,
//! going outwards, at a frame marked `is_entry`. Replacing each eval
//! frame by its run keeps C extensions and native callers where they ran.

/// The native function whose frames run Python frames.
pub const EVAL_FUNCTION: &str = "_PyEval_EvalFrameDefault";

/// One frame of a mixed stack: an index into the native or the Python
/// frames it was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The native frame at this index.
    Native(usize),
    /// The Python frame at this index.
    Python(usize),
}

/// The mixed stack, innermost first, of a native stack (`is_eval[i]`: the
/// native frame `i` is an eval frame) and the thread's Python frames, both
/// innermost first (`is_entry[j]`: the Python frame `j` is an entry
/// frame). An eval frame left without Python frames stays; Python frames
/// left after the last eval frame (a native walk cut short) go outermost.
pub fn interleave(is_eval: &[bool], is_entry: &[bool]) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(is_eval.len() + is_entry.len());
    let mut next = 0;
    for (index, &eval) in is_eval.iter().enumerate() {
        if !eval || next == is_entry.len() {
            slots.push(Slot::Native(index));
            continue;
        }
        while next < is_entry.len() {
            slots.push(Slot::Python(next));
            next += 1;
            if is_entry[next - 1] {
                break;
            }
        }
    }
    slots.extend((next..is_entry.len()).map(Slot::Python));
    slots
}

#[cfg(test)]
mod tests {
    use super::{Slot::*, *};

    #[test]
    fn each_eval_frame_takes_the_python_frames_up_to_an_entry_frame() {
        // deflate <- zlib_compress <- eval <- PyObject_Call <- eval <- main
        let is_eval = [false, false, true, false, true, false];
        // compress_it, helper (entry) | <module> (entry)
        let python = [false, true, true];
        assert_eq!(
            interleave(&is_eval, &python),
            [
                Native(0),
                Native(1),
                Python(0),
                Python(1),
                Native(3),
                Python(2),
                Native(5)
            ]
        );
    }

    #[test]
    fn eval_frames_beyond_the_python_frames_stay_and_leftovers_go_outermost() {
        assert_eq!(interleave(&[true, true], &[true]), [Python(0), Native(1)]);
        assert_eq!(
            interleave(&[false], &[false, true]),
            [Native(0), Python(0), Python(1)]
        );
    }
}
