//! Turns one row of gimli's evaluated CFI into a compact [`Rule`] for
//! x86-64, marking what the BPF side cannot evaluate.

use gimli::{CfaRule, Reader, Register, RegisterRule, UnwindSection, UnwindTableRow};

use super::table::{Cfa, ReturnAddress, Rule, SavedFp};

/// DWARF register numbers of the x86-64 psABI.
const RBP: Register = Register(6);
const RSP: Register = Register(7);
const RIP: Register = Register(16);

/// x86-64 pushes the return address right below the CFA.
const RA_OFFSET: i64 = -8;

// DWARF expression opcodes of the PLT pattern.
const DW_OP_BREG7: u8 = 0x77;
const DW_OP_BREG16: u8 = 0x80;
const DW_OP_LIT0: u8 = 0x30;
const DW_OP_LIT3: u8 = 0x33;
const DW_OP_LIT15: u8 = 0x3f;
const DW_OP_AND: u8 = 0x1a;
const DW_OP_GE: u8 = 0x2a;
const DW_OP_SHL: u8 = 0x24;
const DW_OP_PLUS: u8 = 0x22;

/// Compiles the rules of `row`; `section` resolves its expressions.
pub(crate) fn compile_row<R, S>(section: &S, row: &UnwindTableRow<R::Offset>) -> Rule
where
    R: Reader,
    S: UnwindSection<R>,
{
    Rule {
        cfa: compile_cfa(section, row.cfa()),
        fp: match row.register(RBP) {
            None | Some(RegisterRule::SameValue) => SavedFp::Unchanged,
            Some(RegisterRule::Offset(offset)) => {
                i16::try_from(offset).map_or(SavedFp::Unsupported, SavedFp::AtCfa)
            }
            Some(_) => SavedFp::Unsupported,
        },
        ra: match row.register(RIP) {
            Some(RegisterRule::Undefined) => ReturnAddress::Undefined,
            Some(RegisterRule::Offset(RA_OFFSET)) => ReturnAddress::AtCfaMinus8,
            _ => ReturnAddress::Unsupported,
        },
    }
}

fn compile_cfa<R, S>(section: &S, cfa: &CfaRule<R::Offset>) -> Cfa
where
    R: Reader,
    S: UnwindSection<R>,
{
    match *cfa {
        CfaRule::RegisterAndOffset { register, offset } => {
            let Ok(offset) = i16::try_from(offset) else {
                return Cfa::Unsupported;
            };
            match register {
                RSP => Cfa::SpOffset(offset),
                RBP => Cfa::FpOffset(offset),
                _ => Cfa::Unsupported,
            }
        }
        CfaRule::Expression(ref expression) => {
            let plt = |expression: gimli::Expression<R>| match_plt(&expression.0.to_slice().ok()?);
            expression
                .get(section)
                .ok()
                .and_then(plt)
                .unwrap_or(Cfa::Unsupported)
        }
    }
}

/// Recognizes the expression that linkers emit for `.plt` and `.plt.sec`:
/// `RSP + k + (((RIP & 15) >= n) << 3)`, i.e. 8 more once the entry has
/// pushed its relocation index.
fn match_plt(bytes: &[u8]) -> Option<Cfa> {
    type Input<'a> = gimli::EndianSlice<'a, gimli::LittleEndian>;
    fn op(input: &mut Input<'_>, expected: u8) -> Option<()> {
        (input.read_u8().ok()? == expected).then_some(())
    }
    let input = &mut Input::new(bytes, gimli::LittleEndian);
    op(input, DW_OP_BREG7)?;
    let sp_offset = input.read_sleb128().ok()?;
    op(input, DW_OP_BREG16)?;
    let rip_offset = input.read_sleb128().ok()?;
    op(input, DW_OP_LIT15)?;
    op(input, DW_OP_AND)?;
    let threshold = input.read_u8().ok()?.checked_sub(DW_OP_LIT0)?;
    op(input, DW_OP_GE)?;
    op(input, DW_OP_LIT3)?;
    op(input, DW_OP_SHL)?;
    op(input, DW_OP_PLUS)?;
    let sane = rip_offset == 0 && threshold < 16 && input.is_empty();
    sane.then_some(Cfa::Plt {
        sp_offset: i16::try_from(sp_offset).ok()?,
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.plt` expression GNU ld and lld write.
    const PLT: [u8; 11] = [0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22];

    #[test]
    fn recognizes_the_plt_expression() {
        assert_eq!(
            match_plt(&PLT),
            Some(Cfa::Plt {
                sp_offset: 8,
                threshold: 11
            })
        );
        let mut ibt = PLT;
        ibt[6] = DW_OP_LIT0 + 10;
        assert_eq!(
            match_plt(&ibt),
            Some(Cfa::Plt {
                sp_offset: 8,
                threshold: 10
            })
        );
    }

    #[test]
    fn rejects_other_expressions() {
        // Bytes 1 and 6 are operands (SP offset, threshold): other values
        // are still the pattern.
        for index in (0..PLT.len()).filter(|index| ![1, 6].contains(index)) {
            let mut changed = PLT;
            changed[index] ^= 0x01;
            assert_eq!(match_plt(&changed), None, "byte {index} flipped");
        }
        for index in 0..PLT.len() {
            assert_eq!(match_plt(&PLT[..index]), None, "cut at {index}");
        }
        let mut longer = PLT.to_vec();
        longer.push(0x22);
        assert_eq!(match_plt(&longer), None);
    }
}
