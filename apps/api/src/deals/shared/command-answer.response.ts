import { stages } from '@deals/domain';
import { ApiProperty } from '@nestjs/swagger';

export class CommandAnswerResponse {
  @ApiProperty({ format: 'uuid' })
  dealId!: string;

  @ApiProperty({ description: "Stream revision of the deal's last event (0 after capture); also sent as ETag" })
  version!: number;

  @ApiProperty({ enum: stages })
  stage!: string;
}
